/**
 * A small, from-scratch zlib / DEFLATE decompressor (RFC 1950 / RFC 1951), written to be read.
 * Pure TypeScript on Uint8Array: no `node:zlib`, no Buffer, so it runs in Node and in browsers.
 *
 * The format, in the order the code reads it:
 *
 * 1. zlib wrapper (RFC 1950). Two header bytes CMF, FLG: CMF's low nibble is the method (8 =
 *    DEFLATE), its high nibble the log2 of the window size minus 8 (at most 7, a 32 KB window);
 *    (CMF * 256 + FLG) is a multiple of 31; FLG bit 5 announces a preset dictionary (not
 *    supported: PNG never uses one). Then the DEFLATE data, then the Adler-32 checksum of the
 *    uncompressed bytes, 4 bytes big-endian. (`inflate`, `adler32`)
 *
 * 2. Bits (RFC 1951 3.1.1). DEFLATE data is a bit stream read from the least significant bit of
 *    each byte upwards. Numbers (block headers, extra bits) are stored least significant bit
 *    first; Huffman codes are stored most significant bit first. (`BitReader`)
 *
 * 3. Blocks. Each block starts with 3 bits: BFINAL (1 = last block) and BTYPE:
 *      0 stored: skip to the next byte boundary, LEN and NLEN (16 bits each, NLEN = ~LEN), then
 *        LEN raw bytes;
 *      1 fixed Huffman codes (a code table given by the RFC);
 *      2 dynamic Huffman codes (the code tables come first, themselves Huffman-coded);
 *      3 reserved: an error.
 *
 * 4. Huffman codes (RFC 1951 3.2.2). A table is given only by the code length of each symbol
 *    (0 = unused). Codes are "canonical": shorter codes come first, and codes of one length are
 *    consecutive integers in symbol order. We decode with a lookup table indexed by the next
 *    `maxLength` input bits; since codes arrive most significant bit first while we collect bits
 *    least significant first, each code is entered bit-reversed, once for every value of the
 *    bits after it. (`buildHuffman`, `decodeSymbol`)
 *
 * 5. Literal/length and distance symbols (RFC 1951 3.2.5). Symbols 0..255 are literal bytes,
 *    256 ends the block, 257..285 are match lengths 3..258 (a base plus some extra bits). A
 *    length is followed by a distance symbol 0..29 (distance 1..32768, again base + extra bits):
 *    copy `length` bytes starting `distance` bytes back in the output; the copy may overlap what
 *    it writes (distance 1, length 10 repeats one byte ten times). (`inflateBlock`)
 *
 * 6. Dynamic tables (RFC 1951 3.2.7). HLIT (257..286 literal/length codes), HDIST (1..32
 *    distance codes), HCLEN (4..19 code-length codes); 3-bit lengths for the code-length
 *    alphabet in a fixed odd order; then the HLIT + HDIST code lengths, coded with that alphabet:
 *    0..15 a length, 16 repeat the previous length 3..6 times, 17 a run of 3..10 zeros, 18 a run
 *    of 11..138 zeros. (`readDynamicTables`)
 *
 * Every error message starts with `source`, names the problem and, where it helps, the byte
 * offset in the compressed input (counted from the zlib header). Every loop consumes input or is bounded by a table size or by
 * `maxOutput`, so bad data ends in an Error, never a hang: running out of input is "truncated",
 * a wrong checksum is an error, never silently different output.
 */

export interface InflateOptions {
  /** Fail as soon as the output would exceed this many bytes (guards against huge outputs). */
  maxOutput?: number;
  /** Expected output size, used only to size the output buffer up front (capped by what the input can produce). */
  sizeHint?: number;
}

/**
 * Decompress a zlib stream (RFC 1950). `source` starts every error message (e.g. a file name).
 * Bytes after the Adler-32 checksum are ignored.
 */
export function inflate(data: Uint8Array, source = 'zlib', options: InflateOptions = {}): Uint8Array {
  const fail = (message: string): never => {
    throw new Error(`${source}: ${message}`);
  };
  if (data.length < 2) fail(`truncated zlib header (${data.length} bytes)`);
  const cmf = data[0];
  const flg = data[1];
  if ((cmf & 0x0f) !== 8) fail(`unknown zlib compression method ${cmf & 0x0f} (only 8 = DEFLATE)`);
  if (cmf >> 4 > 7) fail(`bad zlib window size (CINFO ${cmf >> 4} > 7)`);
  if ((cmf * 256 + flg) % 31 !== 0) fail('bad zlib header check bits (FCHECK)');
  if (flg & 0x20) fail('zlib preset dictionary is not supported');

  const reader = new BitReader(data, 2, source);
  const output = inflateStream(reader, data.length, source, options);
  const end = reader.alignToByte();
  if (end + 4 > data.length) fail(`truncated: missing Adler-32 checksum at byte ${end}`);
  const stored = ((data[end] << 24) | (data[end + 1] << 16) | (data[end + 2] << 8) | data[end + 3]) >>> 0;
  const computed = adler32(output);
  if (stored !== computed) {
    fail(`Adler-32 checksum mismatch (stored 0x${hex32(stored)}, computed 0x${hex32(computed)})`);
  }
  return output;
}

/** Decompress raw DEFLATE data (RFC 1951, no zlib wrapper, no checksum). */
export function inflateRaw(data: Uint8Array, source = 'deflate', options: InflateOptions = {}): Uint8Array {
  return inflateStream(new BitReader(data, 0, source), data.length, source, options);
}

/** Adler-32 (RFC 1950 8.2): two running sums modulo 65521, the largest prime below 2^16. */
export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  // Reduce once per 5552 bytes instead of once per byte (zlib's bound that keeps the sums below
  // 2^32; JS numbers would stay exact far longer).
  for (let start = 0; start < bytes.length; start += 5552) {
    const end = Math.min(start + 5552, bytes.length);
    for (let i = start; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

// ------------------------------------------------------------------------------------------
// Bits
// ------------------------------------------------------------------------------------------

/**
 * Reads bits least significant first. `bits` holds `count` not yet consumed bits (at most 32).
 * Past the end of the data it shifts in zero bytes, so a Huffman lookup may peek beyond the
 * end; `consume` then fails if the bits actually used go past the end.
 */
class BitReader {
  private bits = 0;
  private count = 0;

  constructor(
    private readonly data: Uint8Array,
    private pos: number,
    private readonly source: string,
  ) {}

  /** Make sure at least n (<= 24) bits are buffered, padding with zeros past the end. */
  private fill(n: number): void {
    while (this.count < n) {
      const byte = this.pos < this.data.length ? this.data[this.pos] : 0;
      this.pos++;
      this.bits |= byte << this.count;
      this.count += 8;
    }
  }

  /** The next n bits without consuming them. */
  peek(n: number): number {
    this.fill(n);
    return this.bits & ((1 << n) - 1);
  }

  /** Drop n already-peeked bits; fails if they run past the end of the data. */
  consume(n: number): void {
    this.bits >>>= n;
    this.count -= n;
    if (this.bitOffset() > this.data.length * 8) {
      throw new Error(`${this.source}: truncated DEFLATE data (ends at byte ${this.data.length})`);
    }
  }

  /** Read an n-bit number (n <= 24), least significant bit first. */
  read(n: number): number {
    if (n === 0) return 0;
    const value = this.peek(n);
    this.consume(n);
    return value;
  }

  /** Position in the input, in bits, of the next unread bit. */
  bitOffset(): number {
    return this.pos * 8 - this.count;
  }

  /** Skip to the next byte boundary; returns the byte offset reached. */
  alignToByte(): number {
    this.read(this.count % 8);
    // Give back whole buffered bytes so the caller can read bytes directly from `pos`.
    this.pos -= this.count >> 3;
    this.bits = 0;
    this.count = 0;
    return this.pos;
  }

  /** The next n raw bytes (only after `alignToByte`). */
  readBytes(n: number): Uint8Array {
    if (this.pos + n > this.data.length) {
      throw new Error(
        `${this.source}: truncated stored block at byte ${this.pos} (needs ${n} bytes, has ${this.data.length - this.pos})`,
      );
    }
    this.pos += n;
    return this.data.subarray(this.pos - n, this.pos);
  }
}

// ------------------------------------------------------------------------------------------
// Output: a growable byte buffer with a size limit
// ------------------------------------------------------------------------------------------

class Output {
  buffer: Uint8Array;
  length = 0;

  constructor(
    sizeHint: number,
    private readonly maxOutput: number,
    private readonly source: string,
  ) {
    this.buffer = new Uint8Array(Math.max(1024, Math.min(sizeHint, maxOutput)));
  }

  /** Make room for n more bytes. */
  reserve(n: number): void {
    const needed = this.length + n;
    if (needed > this.maxOutput) {
      throw new Error(
        `${this.source}: decompressed data is longer than the expected ${this.maxOutput} bytes`,
      );
    }
    if (needed <= this.buffer.length) return;
    const grown = new Uint8Array(Math.min(Math.max(needed, this.buffer.length * 2), this.maxOutput));
    grown.set(this.buffer.subarray(0, this.length));
    this.buffer = grown;
  }

  append(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Repeat `length` bytes starting `distance` back; byte by byte, since they may overlap. */
  copyMatch(distance: number, length: number, at: number): void {
    if (distance > this.length) {
      throw new Error(
        `${this.source}: invalid distance ${distance} with only ${this.length} bytes of output, at byte ${at}`,
      );
    }
    this.reserve(length);
    const buf = this.buffer;
    let to = this.length;
    for (let from = to - distance, end = to + length; to < end; from++, to++) buf[to] = buf[from];
    this.length = to;
  }
}

// ------------------------------------------------------------------------------------------
// Huffman tables
// ------------------------------------------------------------------------------------------

/**
 * A decoding table: `table[next maxLength bits]` = symbol * 16 + code length, or 0 where no
 * code matches (an incomplete code set; reaching such an entry is an error).
 */
interface Huffman {
  table: Uint32Array;
  maxLength: number;
}

/** Build the canonical Huffman code for the given code lengths (0 = symbol unused). */
function buildHuffman(lengths: ArrayLike<number>, what: string, fail: (m: string) => never): Huffman {
  // Count the codes of each length.
  const countOfLength = new Array<number>(16).fill(0);
  let maxLength = 0;
  for (let s = 0; s < lengths.length; s++) {
    countOfLength[lengths[s]]++;
    maxLength = Math.max(maxLength, lengths[s]);
  }
  countOfLength[0] = 0;

  // The first code of each length: after all shorter codes, doubled at each extra bit.
  // If more codes are asked for than a length can hold, the set is over-subscribed.
  const nextCode = new Array<number>(16).fill(0);
  let code = 0;
  for (let len = 1; len <= 15; len++) {
    code = (code + countOfLength[len - 1]) << 1;
    nextCode[len] = code;
    if (code + countOfLength[len] > 1 << len) fail(`over-subscribed ${what} Huffman code`);
  }

  const table = new Uint32Array(1 << maxLength);
  for (let symbol = 0; symbol < lengths.length; symbol++) {
    const len = lengths[symbol];
    if (len === 0) continue;
    const reversed = reverseBits(nextCode[len]++, len);
    // Every table index whose low `len` bits are the (reversed) code decodes to this symbol.
    for (let i = reversed; i < table.length; i += 1 << len) table[i] = (symbol << 4) | len;
  }
  return { table, maxLength };
}

function reverseBits(code: number, length: number): number {
  let reversed = 0;
  for (let i = 0; i < length; i++) {
    reversed = (reversed << 1) | (code & 1);
    code >>= 1;
  }
  return reversed;
}

function decodeSymbol(reader: BitReader, huffman: Huffman, what: string, source: string): number {
  const at = reader.bitOffset() >> 3;
  const entry = huffman.table[reader.peek(huffman.maxLength)];
  if (entry === 0) throw new Error(`${source}: invalid ${what} Huffman code at byte ${at}`);
  reader.consume(entry & 15);
  return entry >> 4;
}

// ------------------------------------------------------------------------------------------
// Blocks
// ------------------------------------------------------------------------------------------

/** Lengths 3..258 for symbols 257..285: base values and extra bits (RFC 1951 3.2.5). */
const LENGTH_BASE: number[] = [];
const LENGTH_EXTRA: number[] = [];
/** Distances 1..32768 for distance symbols 0..29. */
const DISTANCE_BASE: number[] = [];
const DISTANCE_EXTRA: number[] = [];
{
  // Lengths: 8 symbols with no extra bits (3..10), then groups of 4 symbols with 1, 2, .. 5
  // extra bits; symbol 285 is the special length 258 with no extra bits.
  let base = 3;
  for (let s = 0; s < 28; s++) {
    const extra = s < 8 ? 0 : (s >> 2) - 1;
    LENGTH_BASE.push(base);
    LENGTH_EXTRA.push(extra);
    base += 1 << extra;
  }
  LENGTH_BASE.push(258);
  LENGTH_EXTRA.push(0);
  // Distances: 4 symbols with no extra bits (1..4), then pairs with 1, 2, .. 13 extra bits.
  base = 1;
  for (let s = 0; s < 30; s++) {
    const extra = s < 4 ? 0 : (s >> 1) - 1;
    DISTANCE_BASE.push(base);
    DISTANCE_EXTRA.push(extra);
    base += 1 << extra;
  }
}

/** The fixed codes of BTYPE 1 (RFC 1951 3.2.6), built on first use. */
let fixedTables: { literals: Huffman; distances: Huffman } | undefined;
function getFixedTables(fail: (m: string) => never) {
  if (!fixedTables) {
    const lengths = new Array<number>(288);
    for (let s = 0; s < 288; s++) lengths[s] = s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8;
    fixedTables = {
      literals: buildHuffman(lengths, 'literal/length', fail),
      distances: buildHuffman(new Array<number>(30).fill(5), 'distance', fail),
    };
  }
  return fixedTables;
}

/** Order in which the code-length code lengths are stored (RFC 1951 3.2.7). */
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

function readDynamicTables(reader: BitReader, fail: (m: string) => never, source: string) {
  const literalCount = reader.read(5) + 257;
  const distanceCount = reader.read(5) + 1;
  const codeLengthCount = reader.read(4) + 4;
  if (literalCount > 286) fail(`bad dynamic block header: ${literalCount} literal/length codes (max 286)`);
  if (distanceCount > 30) fail(`bad dynamic block header: ${distanceCount} distance codes (max 30)`);

  const codeLengthLengths = new Array<number>(19).fill(0);
  for (let i = 0; i < codeLengthCount; i++) codeLengthLengths[CODE_LENGTH_ORDER[i]] = reader.read(3);
  const codeLengthCode = buildHuffman(codeLengthLengths, 'code length', fail);

  // Literal/length and distance code lengths form one sequence; runs may cross between them.
  const lengths = new Array<number>(literalCount + distanceCount).fill(0);
  for (let i = 0; i < lengths.length;) {
    const symbol = decodeSymbol(reader, codeLengthCode, 'code length', source);
    if (symbol < 16) {
      lengths[i++] = symbol;
      continue;
    }
    let value = 0;
    let repeat: number;
    if (symbol === 16) {
      if (i === 0) fail('dynamic block header repeats a code length before the first one');
      value = lengths[i - 1];
      repeat = 3 + reader.read(2);
    } else if (symbol === 17) {
      repeat = 3 + reader.read(3);
    } else {
      repeat = 11 + reader.read(7);
    }
    if (i + repeat > lengths.length) fail('dynamic block header: code length repeat runs past the end');
    for (let r = 0; r < repeat; r++) lengths[i++] = value;
  }
  if (lengths[256] === 0) fail('dynamic block has no end-of-block code');
  return {
    literals: buildHuffman(lengths.slice(0, literalCount), 'literal/length', fail),
    distances: buildHuffman(lengths.slice(literalCount), 'distance', fail),
  };
}

/** Decode Huffman-coded symbols up to the end-of-block symbol 256. */
function inflateBlock(
  reader: BitReader,
  output: Output,
  tables: { literals: Huffman; distances: Huffman },
  fail: (m: string) => never,
  source: string,
): void {
  for (;;) {
    const symbol = decodeSymbol(reader, tables.literals, 'literal/length', source);
    if (symbol < 256) {
      output.reserve(1);
      output.buffer[output.length++] = symbol;
    } else if (symbol === 256) {
      return;
    } else {
      const at = reader.bitOffset() >> 3;
      if (symbol > 285) fail(`invalid length symbol ${symbol} at byte ${at}`);
      const length = LENGTH_BASE[symbol - 257] + reader.read(LENGTH_EXTRA[symbol - 257]);
      // The fixed distance code has 32 codes for 30 symbols; 30 and 31 are left out of the
      // table, so they fail in decodeSymbol like any unused code.
      const d = decodeSymbol(reader, tables.distances, 'distance', source);
      const distance = DISTANCE_BASE[d] + reader.read(DISTANCE_EXTRA[d]);
      output.copyMatch(distance, length, at);
    }
  }
}

/** Decode DEFLATE blocks up to and including the one marked final. */
function inflateStream(
  reader: BitReader,
  inputLength: number,
  source: string,
  options: InflateOptions,
): Uint8Array {
  const fail = (message: string): never => {
    throw new Error(`${source}: ${message}`);
  };
  const maxOutput = options.maxOutput ?? 2 ** 31 - 1;
  // DEFLATE expands at most about 1032:1 (a 258-byte match in 2 bits), so a hint larger than
  // that is wrong; don't let it allocate a huge buffer up front.
  const output = new Output(Math.min(options.sizeHint ?? 0, inputLength * 1032), maxOutput, source);
  let final = 0;
  while (!final) {
    final = reader.read(1);
    const type = reader.read(2);
    if (type === 0) {
      const at = reader.alignToByte();
      const header = reader.readBytes(4);
      const length = header[0] | (header[1] << 8);
      const complement = header[2] | (header[3] << 8);
      if (length !== (~complement & 0xffff))
        fail(`stored block length check failed (LEN ${length}, NLEN ${complement}) at byte ${at}`);
      output.append(reader.readBytes(length));
    } else if (type === 1) {
      inflateBlock(reader, output, getFixedTables(fail), fail, source);
    } else if (type === 2) {
      inflateBlock(reader, output, readDynamicTables(reader, fail, source), fail, source);
    } else {
      fail(`invalid DEFLATE block type 3 at byte ${reader.bitOffset() >> 3}`);
    }
  }
  return output.buffer.slice(0, output.length);
}
