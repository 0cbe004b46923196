/**
 * A small, from-scratch JPEG decoder (ITU-T T.81 / JFIF), written to be read.
 *
 * Supported: baseline sequential DCT (SOF0) and extended sequential DCT with 8-bit samples
 * (SOF1), Huffman entropy coding, 1 or 3 components, any chroma subsampling (4:4:4, 4:2:2,
 * 4:2:0 and generic h/v sampling factors 1..4), interleaved and non-interleaved scans,
 * restart intervals (DRI / RSTn), 8- and 16-bit quantization tables. APPn and COM segments are
 * skipped (APP14 "Adobe" is read only for its color transform flag).
 * Not supported (a clear Error): progressive (SOF2/SOF6/SOF10/SOF14), lossless, hierarchical,
 * arithmetic coding (SOF9..SOF15, DAC), 12-bit samples, CMYK / 4 components, DNL.
 *
 * The pipeline, in the order the code runs:
 *
 * 1. Markers. A JPEG file is a sequence of segments, each starting with a marker 0xFF 0xXX.
 *    SOI (D8) starts the file, EOI (D9) ends it. Segments with a 2-byte big-endian length
 *    (which counts itself) carry tables and headers: DQT (DB) quantization tables,
 *    DHT (C4) Huffman tables, SOFn (C0..CF) the frame header (size, components, sampling
 *    factors), DRI (DD) the restart interval, SOS (DA) a scan header, which is followed by
 *    entropy-coded data up to the next marker. `parseSegments` walks them.
 *
 * 2. Huffman decoding. A DHT gives, for each code length 1..16, how many codes have that length,
 *    then the symbols in code order. Codes are "canonical": consecutive integers, shifted left
 *    by one when the length grows. For each length L we keep the smallest and largest code and
 *    the index of its first symbol; decoding reads one bit at a time until the code read so far
 *    is <= maxCode[L] (`buildHuffmanTable`, `decodeHuffman`). In the entropy-coded data a 0xFF
 *    byte is followed by a stuffed 0x00; any other byte after 0xFF is a marker (`BitReader`).
 *
 * 3. Coefficients. Each 8x8 block holds one DC coefficient, coded as the difference from the
 *    previous block's DC of the same component (the predictor), and 63 AC coefficients coded as
 *    (run of zeros, size) symbols; 0x00 is end-of-block, 0xF0 is a run of 16 zeros. A "size" s
 *    is followed by s raw bits that give a signed value (`receiveExtend`).
 *
 * 4. Zigzag and dequantization. Coefficients arrive in zigzag order (low to high frequency);
 *    each is multiplied by the quantization table entry of the same zigzag index (DQT stores
 *    tables in zigzag order too) and written at its natural row-major position (`ZIGZAG`).
 *
 * 5. Inverse DCT. A separable float (float64) IDCT: first a 1-D 8-point IDCT on each column, then on each
 *    row, both as products with the 8x8 matrix C[x][u] = c(u)/2 cos((2x+1)u pi/16), with
 *    c(0) = 1/sqrt(2), c(u>0) = 1. Then +128 (level shift), round, clamp to 0..255 (`idctBlock`).
 *    (libjpeg's default is an integer IDCT, "islow"; the float version is at least as accurate,
 *    and the two differ by at most about one level.)
 *
 * 6. MCUs. Blocks are grouped in minimum coded units. In an interleaved scan (several
 *    components) an MCU holds h x v blocks of each component (its sampling factors), so a
 *    component's plane is padded up to a whole number of MCUs. A scan with a single component
 *    is non-interleaved: one block per MCU, covering only ceil(componentWidth / 8) x
 *    ceil(componentHeight / 8) blocks. With a restart interval of n, every n MCUs the encoder
 *    pads to a byte boundary and writes RST0..RST7 (cyclic); the decoder resets the DC
 *    predictors and re-synchronizes there.
 *
 * 7. Upsampling. A component with sampling factors (h, v) has ceil(W h / hmax) x
 *    ceil(H v / vmax) samples. To bring it to full size we use libjpeg's "fancy" triangle
 *    filter for the common 2x horizontal (4:2:2), 2x vertical (4:4:0) and 2x both (4:2:0)
 *    cases: each output sample is 3/4 of the nearest input sample plus 1/4 of the next nearest
 *    (in 2-D, 9/16, 3/16, 3/16, 1/16), with libjpeg's exact integer rounding, edges replicated.
 *    Any other ratio (4:1:1, 3x, ...) uses simple replication (each sample repeated h x v
 *    times), as libjpeg does too. (`upsample`)
 *
 * 8. Color conversion. JFIF 3-component images are YCbCr (ITU-R BT.601, full range):
 *      R = Y + 1.402 (Cr - 128)
 *      G = Y - 0.344136 (Cb - 128) - 0.714136 (Cr - 128)
 *      B = Y + 1.772 (Cb - 128)
 *    computed with libjpeg's 16-bit fixed-point rounding, so the result is bit-identical to
 *    libjpeg's for the same Y, Cb, Cr. An Adobe APP14 segment with transform 0 (or component
 *    ids 'R','G','B') means the samples are already RGB. (`ycbcrToRgb`)
 *
 * Every error message starts with the `source` name, so a bad file in a data set is found fast.
 * A frame header claiming more than MAX_IMAGE_PIXELS (image-size.ts) is refused before anything
 * is allocated.
 * Every loop advances through the input or is bounded by the frame size, so corrupt data ends
 * in an Error, never an infinite loop.
 */

import { imageSizeProblem } from './image-size.js';

/** A decoded image: `data` is row-major, interleaved (RGB when channels = 3). */
export interface DecodedImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** Zigzag index -> natural (row-major) index within an 8x8 block. */
const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63,
]);

/** IDCT matrix, IDCT_MATRIX[x * 8 + u] = c(u)/2 * cos((2x + 1) u pi / 16). */
const IDCT_MATRIX = (() => {
  const m = new Float64Array(64);
  for (let x = 0; x < 8; x++) {
    for (let u = 0; u < 8; u++) {
      const c = u === 0 ? Math.SQRT1_2 : 1;
      m[x * 8 + u] = (c / 2) * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
    }
  }
  return m;
})();

interface HuffmanTable {
  /** maxCode[L]: largest code of length L, or -1 when there is none (L = 1..16). */
  maxCode: Int32Array;
  /** valOffset[L]: index in `symbols` of a code of length L is code + valOffset[L]. */
  valOffset: Int32Array;
  symbols: Uint8Array;
}

interface Component {
  id: number;
  h: number;
  v: number;
  quantTableId: number;
  /** Blocks per line / per column in the (MCU-padded) plane. */
  blocksPerLine: number;
  blocksPerColumn: number;
  /** Real size of this component in samples: ceil(W h / hmax) x ceil(H v / vmax). */
  width: number;
  height: number;
  /** Decoded samples, blocksPerLine * 8 wide, blocksPerColumn * 8 high. */
  plane: Uint8Array;
  dcTableId: number;
  acTableId: number;
  dcPredictor: number;
}

interface Frame {
  width: number;
  height: number;
  components: Component[];
  hMax: number;
  vMax: number;
  mcusPerLine: number;
  mcusPerColumn: number;
}

/** Decoder state shared by the segment parsers. */
interface State {
  source: string;
  bytes: Uint8Array;
  quantTables: (Uint16Array | undefined)[];
  dcTables: (HuffmanTable | undefined)[];
  acTables: (HuffmanTable | undefined)[];
  restartInterval: number;
  frame?: Frame;
  adobeTransform?: number;
  scans: number;
}

/** Decode a baseline or extended-sequential Huffman JPEG. `source` names the file in errors. */
export function decodeJpeg(bytes: Uint8Array, source = 'jpeg'): DecodedImage {
  const state: State = {
    source,
    bytes,
    quantTables: [],
    dcTables: [],
    acTables: [],
    restartInterval: 0,
    scans: 0,
  };
  parseSegments(state);
  const frame = state.frame!;
  const planes = frame.components.map((c) => upsample(c, frame));
  if (frame.components.length === 1) {
    return { width: frame.width, height: frame.height, channels: 1, data: planes[0] };
  }
  const isRgb = state.adobeTransform === 0 || frame.components.map((c) => c.id).join() === '82,71,66';
  const data = isRgb
    ? interleave(planes, frame.width * frame.height)
    : ycbcrToRgb(planes[0], planes[1], planes[2]);
  return { width: frame.width, height: frame.height, channels: 3, data };
}

// ------------------------------------------------------------------------------------------
// 1. Markers and segments
// ------------------------------------------------------------------------------------------

function fail(state: State, message: string): never {
  throw new Error(`${state.source}: ${message}`);
}

function hex(marker: number): string {
  return '0xFF' + marker.toString(16).toUpperCase().padStart(2, '0');
}

function readU16(state: State, pos: number): number {
  if (pos + 2 > state.bytes.length) fail(state, `truncated at byte ${state.bytes.length}`);
  return (state.bytes[pos] << 8) | state.bytes[pos + 1];
}

/** Walk the segments from SOI to EOI, decoding each scan as it comes. */
function parseSegments(state: State): void {
  const { bytes } = state;
  if (bytes.length < 2 || bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    fail(state, 'not a JPEG file (no SOI marker 0xFFD8 at byte 0)');
  }
  let pos = 2;
  for (;;) {
    // A marker is 0xFF, any number of 0xFF fill bytes, then a code other than 0x00 / 0xFF.
    if (pos >= bytes.length) {
      fail(state, `truncated: end of data at byte ${pos} before the EOI marker`);
    }
    if (bytes[pos] !== 0xff) {
      fail(state, `expected a marker at byte ${pos}, found 0x${bytes[pos].toString(16)}`);
    }
    while (pos < bytes.length && bytes[pos] === 0xff) pos++;
    if (pos >= bytes.length) fail(state, `truncated: end of data at byte ${pos} in a marker`);
    const marker = bytes[pos++];
    const markerPos = pos - 2;

    if (marker === 0xd9) {
      // EOI
      if (!state.frame) fail(state, 'EOI marker before any frame header (SOF)');
      if (state.scans === 0) fail(state, 'EOI marker before any scan (SOS)');
      return;
    }
    if (marker >= 0xd0 && marker <= 0xd7) {
      fail(state, `unexpected restart marker ${hex(marker)} at byte ${markerPos}`);
    }
    if (marker === 0x00 || marker === 0xd8 || marker === 0x01) {
      fail(state, `unexpected marker ${hex(marker)} at byte ${markerPos}`);
    }

    const length = readU16(state, pos);
    if (length < 2) fail(state, `bad segment length ${length} at byte ${pos}`);
    const end = pos + length;
    if (end > bytes.length) {
      fail(state, `truncated in segment ${hex(marker)} (needs ${end} bytes, has ${bytes.length})`);
    }
    const body = bytes.subarray(pos + 2, end);

    if (marker === 0xc0 || marker === 0xc1) {
      parseFrameHeader(state, body, marker);
      pos = end;
    } else if (marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce) {
      fail(state, `progressive JPEG is not supported (marker ${hex(marker)})`);
    } else if (marker >= 0xc9 && marker <= 0xcf) {
      fail(state, `arithmetic-coded JPEG is not supported (marker ${hex(marker)})`);
    } else if (marker === 0xc3 || marker === 0xc5 || marker === 0xc7) {
      fail(state, `unsupported marker ${hex(marker)} (lossless / hierarchical JPEG)`);
    } else if (marker === 0xc4) {
      parseHuffmanTables(state, body);
      pos = end;
    } else if (marker === 0xdb) {
      parseQuantTables(state, body);
      pos = end;
    } else if (marker === 0xdd) {
      if (body.length !== 2) fail(state, `bad DRI segment length ${length}`);
      state.restartInterval = (body[0] << 8) | body[1];
      pos = end;
    } else if (marker === 0xda) {
      pos = decodeScan(state, body, end);
      state.scans++;
    } else if ((marker >= 0xe0 && marker <= 0xef) || marker === 0xfe) {
      if (marker === 0xee) parseAdobe(state, body);
      pos = end; // APPn, COM: skipped
    } else {
      fail(state, `unsupported marker ${hex(marker)} at byte ${markerPos}`);
    }
  }
}

/** SOF0 / SOF1: sample precision, size, and per component id, sampling factors, DQT id. */
function parseFrameHeader(state: State, body: Uint8Array, marker: number): void {
  if (state.frame) fail(state, `second frame header ${hex(marker)} (only one frame is supported)`);
  if (body.length < 6) fail(state, `frame header ${hex(marker)} too short`);
  const precision = body[0];
  if (precision !== 8) fail(state, `unsupported sample precision ${precision} (only 8-bit)`);
  const height = (body[1] << 8) | body[2];
  const width = (body[3] << 8) | body[4];
  const count = body[5];
  if (height === 0) fail(state, 'image height 0 (DNL marker) is not supported');
  if (width === 0) fail(state, 'image width is 0');
  const tooLarge = imageSizeProblem(width, height); // before the planes below are allocated
  if (tooLarge) fail(state, tooLarge);
  if (count !== 1 && count !== 3) {
    fail(state, `unsupported number of components ${count} (only 1 or 3)`);
  }
  if (body.length !== 6 + 3 * count) fail(state, `bad frame header length ${body.length + 2}`);

  const specs: { id: number; h: number; v: number; quantTableId: number }[] = [];
  for (let i = 0; i < count; i++) {
    const o = 6 + 3 * i;
    const h = body[o + 1] >> 4;
    const v = body[o + 1] & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4) fail(state, `bad sampling factors ${h}x${v}`);
    const quantTableId = body[o + 2];
    if (quantTableId > 3) fail(state, `bad quantization table id ${quantTableId}`);
    specs.push({ id: body[o], h, v, quantTableId });
  }
  const hMax = Math.max(...specs.map((s) => s.h));
  const vMax = Math.max(...specs.map((s) => s.v));
  const mcusPerLine = Math.ceil(width / (8 * hMax));
  const mcusPerColumn = Math.ceil(height / (8 * vMax));
  const components = specs.map((s): Component => {
    const blocksPerLine = mcusPerLine * s.h;
    const blocksPerColumn = mcusPerColumn * s.v;
    return {
      ...s,
      blocksPerLine,
      blocksPerColumn,
      width: Math.ceil((width * s.h) / hMax),
      height: Math.ceil((height * s.v) / vMax),
      plane: new Uint8Array(blocksPerLine * 8 * blocksPerColumn * 8),
      dcTableId: 0,
      acTableId: 0,
      dcPredictor: 0,
    };
  });
  state.frame = { width, height, components, hMax, vMax, mcusPerLine, mcusPerColumn };
}

/** DQT: one or more tables, each 64 entries of 8 or 16 bits, in zigzag order. */
function parseQuantTables(state: State, body: Uint8Array): void {
  let p = 0;
  while (p < body.length) {
    const precision = body[p] >> 4;
    const id = body[p] & 15;
    if (precision > 1 || id > 3) fail(state, `bad DQT table spec 0x${body[p].toString(16)}`);
    const size = precision === 0 ? 64 : 128;
    if (p + 1 + size > body.length) fail(state, 'DQT segment too short');
    const table = new Uint16Array(64);
    for (let k = 0; k < 64; k++) {
      table[k] = precision === 0 ? body[p + 1 + k] : (body[p + 1 + 2 * k] << 8) | body[p + 2 + 2 * k];
    }
    state.quantTables[id] = table;
    p += 1 + size;
  }
}

/** DHT: one or more tables: class (0 = DC, 1 = AC) and id, 16 counts, then the symbols. */
function parseHuffmanTables(state: State, body: Uint8Array): void {
  let p = 0;
  while (p < body.length) {
    if (p + 17 > body.length) fail(state, 'DHT segment too short');
    const tableClass = body[p] >> 4;
    const id = body[p] & 15;
    if (tableClass > 1 || id > 3) fail(state, `bad DHT table spec 0x${body[p].toString(16)}`);
    const counts = body.subarray(p + 1, p + 17);
    const total = counts.reduce((a, b) => a + b, 0);
    if (total > 256 || p + 17 + total > body.length) fail(state, 'DHT segment too short');
    const symbols = body.slice(p + 17, p + 17 + total);
    const table = buildHuffmanTable(state, counts, symbols);
    (tableClass === 0 ? state.dcTables : state.acTables)[id] = table;
    p += 17 + total;
  }
}

/** Adobe APP14: "Adobe" + version(2) + flags0(2) + flags1(2) + transform(1). */
function parseAdobe(state: State, body: Uint8Array): void {
  const isAdobe = body.length >= 12 && String.fromCharCode(...body.subarray(0, 5)) === 'Adobe';
  if (isAdobe) state.adobeTransform = body[11];
}

// ------------------------------------------------------------------------------------------
// 2. Huffman tables and the bit reader
// ------------------------------------------------------------------------------------------

/** Canonical codes: for each length, the largest code and where its symbols start. */
function buildHuffmanTable(state: State, counts: Uint8Array, symbols: Uint8Array): HuffmanTable {
  const maxCode = new Int32Array(18).fill(-1);
  const valOffset = new Int32Array(18);
  let code = 0;
  let index = 0;
  for (let length = 1; length <= 16; length++) {
    const n = counts[length - 1];
    if (n > 0) {
      valOffset[length] = index - code;
      code += n;
      index += n;
      maxCode[length] = code - 1;
      if (code > 1 << length) fail(state, `bad Huffman table (too many codes of length ${length})`);
    }
    code <<= 1;
  }
  return { maxCode, valOffset, symbols };
}

/** Reads entropy-coded bits MSB first, removing stuffed 0x00 after each 0xFF. */
class BitReader {
  pos: number;
  private bitBuffer = 0;
  private bitCount = 0;

  constructor(
    private readonly state: State,
    start: number,
  ) {
    this.pos = start;
  }

  readBit(): number {
    if (this.bitCount === 0) this.fill();
    this.bitCount--;
    return (this.bitBuffer >> this.bitCount) & 1;
  }

  readBits(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) value = (value << 1) | this.readBit();
    return value;
  }

  /** Load the next byte; a marker here means the scan data ended too early. */
  private fill(): void {
    const { bytes } = this.state;
    if (this.pos >= bytes.length) fail(this.state, `truncated in scan data at byte ${this.pos}`);
    const byte = bytes[this.pos];
    if (byte === 0xff) {
      if (this.pos + 1 >= bytes.length) {
        fail(this.state, `truncated in scan data at byte ${this.pos + 1}`);
      }
      const next = bytes[this.pos + 1];
      if (next !== 0x00) {
        fail(this.state, `unexpected marker ${hex(next)} in scan data at byte ${this.pos}`);
      }
      this.pos += 2;
    } else {
      this.pos++;
    }
    this.bitBuffer = byte;
    this.bitCount = 8;
  }

  /** Drop the bits left in the current byte (before a restart marker or the end of the scan). */
  alignToByte(): void {
    this.bitCount = 0;
  }
}

function decodeHuffman(state: State, reader: BitReader, table: HuffmanTable): number {
  let code = 0;
  for (let length = 1; length <= 16; length++) {
    code = (code << 1) | reader.readBit();
    if (code <= table.maxCode[length]) return table.symbols[code + table.valOffset[length]];
  }
  return fail(state, `bad Huffman code in scan data near byte ${reader.pos}`);
}

/** `size` raw bits as a signed value: values below 2^(size-1) are negative. */
function receiveExtend(reader: BitReader, size: number): number {
  if (size === 0) return 0;
  const bits = reader.readBits(size);
  return bits < 1 << (size - 1) ? bits - (1 << size) + 1 : bits;
}

// ------------------------------------------------------------------------------------------
// 3.-6. Scans: MCUs, blocks, coefficients, dequantization, IDCT
// ------------------------------------------------------------------------------------------

/** SOS header + entropy-coded data. Returns the position of the marker after the scan. */
function decodeScan(state: State, header: Uint8Array, dataStart: number): number {
  const frame = state.frame;
  if (!frame) fail(state, 'scan (SOS) before the frame header (SOF)');
  const count = header[0];
  if (count < 1 || count > 4 || header.length !== 4 + 2 * count) {
    fail(state, `bad scan header (${count} components, ${header.length + 2} bytes)`);
  }
  const components: Component[] = [];
  for (let i = 0; i < count; i++) {
    const id = header[1 + 2 * i];
    const component = frame.components.find((c) => c.id === id);
    if (!component) fail(state, `scan names unknown component id ${id}`);
    component.dcTableId = header[2 + 2 * i] >> 4;
    component.acTableId = header[2 + 2 * i] & 15;
    if (!state.dcTables[component.dcTableId] || !state.acTables[component.acTableId]) {
      fail(state, `scan uses an undefined Huffman table (component ${id})`);
    }
    if (!state.quantTables[component.quantTableId]) {
      fail(state, `component ${id} uses undefined quantization table ${component.quantTableId}`);
    }
    component.dcPredictor = 0;
    components.push(component);
  }
  const spectralStart = header[1 + 2 * count];
  const spectralEnd = header[2 + 2 * count];
  const approximation = header[3 + 2 * count];
  if (spectralStart !== 0 || spectralEnd !== 63 || approximation !== 0) {
    fail(state, 'scan has progressive parameters in a sequential frame');
  }

  // Non-interleaved (one component): one block per MCU, only the blocks the component covers.
  const single = components.length === 1 ? components[0] : undefined;
  const mcusPerLine = single ? Math.ceil(single.width / 8) : frame.mcusPerLine;
  const mcuCount = single
    ? mcusPerLine * Math.ceil(single.height / 8)
    : frame.mcusPerLine * frame.mcusPerColumn;

  const reader = new BitReader(state, dataStart);
  const coefficients = new Float64Array(64);
  const interval = state.restartInterval;
  let expectedRestart = 0;
  for (let mcu = 0; mcu < mcuCount; mcu++) {
    if (interval > 0 && mcu > 0 && mcu % interval === 0) {
      readRestartMarker(state, reader, expectedRestart);
      expectedRestart = (expectedRestart + 1) & 7;
      for (const c of components) c.dcPredictor = 0;
    }
    const mcuRow = Math.floor(mcu / mcusPerLine);
    const mcuCol = mcu % mcusPerLine;
    if (single) {
      decodeBlock(state, reader, single, mcuRow, mcuCol, coefficients);
      continue;
    }
    for (const c of components) {
      for (let by = 0; by < c.v; by++) {
        for (let bx = 0; bx < c.h; bx++) {
          decodeBlock(state, reader, c, mcuRow * c.v + by, mcuCol * c.h + bx, coefficients);
        }
      }
    }
  }
  reader.alignToByte();
  return skipToMarker(state, reader.pos);
}

/** After a restart interval: byte-align, then expect RSTn with n = expected. */
function readRestartMarker(state: State, reader: BitReader, expected: number): void {
  reader.alignToByte();
  const { bytes } = state;
  let p = reader.pos;
  if (p + 1 >= bytes.length) fail(state, `truncated in scan data at byte ${bytes.length}`);
  if (bytes[p] !== 0xff) fail(state, `missing restart marker at byte ${p}`);
  while (p < bytes.length && bytes[p] === 0xff) p++;
  if (p >= bytes.length) fail(state, `truncated in scan data at byte ${p}`);
  const marker = bytes[p];
  if (marker !== 0xd0 + expected) {
    fail(state, `bad restart marker ${hex(marker)} at byte ${p - 1} (expected ${hex(0xd0 + expected)})`);
  }
  reader.pos = p + 1;
}

/** After a scan's last MCU, skip any extraneous bytes up to the next (non-RST) marker. */
function skipToMarker(state: State, pos: number): number {
  const { bytes } = state;
  while (pos + 1 < bytes.length) {
    const next = bytes[pos + 1];
    if (bytes[pos] === 0xff && next !== 0x00 && next !== 0xff && !(next >= 0xd0 && next <= 0xd7)) {
      return pos;
    }
    pos++;
  }
  return fail(state, `truncated: no marker after the scan data (end of data at byte ${bytes.length})`);
}

/** Decode one block's 64 coefficients, dequantize, IDCT, and store its 8x8 samples. */
function decodeBlock(
  state: State,
  reader: BitReader,
  c: Component,
  blockRow: number,
  blockCol: number,
  coefficients: Float64Array,
): void {
  const quant = state.quantTables[c.quantTableId]!;
  const dcTable = state.dcTables[c.dcTableId]!;
  const acTable = state.acTables[c.acTableId]!;
  coefficients.fill(0);

  const dcSize = decodeHuffman(state, reader, dcTable);
  if (dcSize > 11) fail(state, `bad DC coefficient size ${dcSize} near byte ${reader.pos}`);
  c.dcPredictor += receiveExtend(reader, dcSize);
  coefficients[0] = c.dcPredictor * quant[0];

  for (let k = 1; k < 64;) {
    const symbol = decodeHuffman(state, reader, acTable);
    const run = symbol >> 4;
    const size = symbol & 15;
    if (size === 0) {
      if (run === 15) {
        k += 16; // ZRL: sixteen zeros
        continue;
      }
      break; // EOB: the rest are zero
    }
    k += run;
    if (k > 63) fail(state, `bad AC coefficient run (past index 63) near byte ${reader.pos}`);
    coefficients[ZIGZAG[k]] = receiveExtend(reader, size) * quant[k];
    k++;
  }
  idctBlock(coefficients, c.plane, blockRow * 8 * c.blocksPerLine * 8 + blockCol * 8, c.blocksPerLine * 8);
}

const idctTemp = new Float64Array(64);

/**
 * Separable 2-D IDCT: f(x, y) = sum_u sum_v C[x][u] C[y][v] F(v, u), first along columns
 * (v -> y), then along rows (u -> x). Writes round(f + 128) clamped to 0..255.
 * Rounding has a nudge of 1e-6: exact halves (a flat block of value 31.5 is common:
 * DC 28 times quantizer 9, over 8) must round up, as libjpeg's integer DESCALE does, but
 * the float sums land a hair below (31.4999999...).
 */
function idctBlock(coefficients: Float64Array, out: Uint8Array, offset: number, stride: number): void {
  const t = idctTemp;
  for (let u = 0; u < 8; u++) {
    for (let y = 0; y < 8; y++) {
      let sum = 0;
      for (let v = 0; v < 8; v++) sum += IDCT_MATRIX[y * 8 + v] * coefficients[v * 8 + u];
      t[y * 8 + u] = sum;
    }
  }
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      let sum = 0;
      for (let u = 0; u < 8; u++) sum += IDCT_MATRIX[x * 8 + u] * t[y * 8 + u];
      const value = Math.floor(sum + 128.5 + 1e-6);
      out[offset + y * stride + x] = value < 0 ? 0 : value > 255 ? 255 : value;
    }
  }
}

// ------------------------------------------------------------------------------------------
// 7. Upsampling
// ------------------------------------------------------------------------------------------

/** One component's samples at full image size (width x height, one byte per sample). */
function upsample(c: Component, frame: Frame): Uint8Array {
  const { width, height } = frame;
  const stride = c.blocksPerLine * 8;
  const sx = frame.hMax / c.h;
  const sy = frame.vMax / c.v;
  // Read sample (x, y) of the component with edges replicated past its real size.
  const at = (x: number, y: number): number =>
    c.plane[Math.min(Math.max(y, 0), c.height - 1) * stride + Math.min(Math.max(x, 0), c.width - 1)];
  const out = new Uint8Array(width * height);

  if (sx === 1 && sy === 1) {
    for (let y = 0; y < height; y++) out.set(c.plane.subarray(y * stride, y * stride + width), y * width);
  } else if (sx === 2 && sy === 1) {
    // h2v1 fancy: 3/4 nearest + 1/4 next; libjpeg rounds with +1 (left output), +2 (right).
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = x >> 1;
        const near = at(i, y);
        if (c.width === 1) out[y * width + x] = near;
        else if (x & 1) out[y * width + x] = (3 * near + at(i + 1, y) + 2) >> 2;
        else out[y * width + x] = (3 * near + at(i - 1, y) + 1) >> 2;
      }
    }
  } else if (sx === 1 && sy === 2) {
    // h1v2 fancy: same along columns; +1 for the upper output row, +2 for the lower.
    for (let y = 0; y < height; y++) {
      const j = y >> 1;
      const far = y & 1 ? j + 1 : j - 1;
      const bias = y & 1 ? 2 : 1;
      for (let x = 0; x < width; x++) out[y * width + x] = (3 * at(x, j) + at(x, far) + bias) >> 2;
    }
  } else if (sx === 2 && sy === 2) {
    // h2v2 fancy: vertical sums 3*near + far, then horizontal 3*this + neighbour, / 16.
    // libjpeg rounds with +8 (left output) and +7 (right); its edge columns are 4*colsum.
    for (let y = 0; y < height; y++) {
      const j = y >> 1;
      const far = y & 1 ? j + 1 : j - 1;
      const colSum = (i: number): number => 3 * at(i, j) + at(i, far);
      for (let x = 0; x < width; x++) {
        const i = x >> 1;
        const here = colSum(i);
        let value: number;
        if (c.width === 1) value = (4 * here + 8) >> 4;
        else if (x & 1) value = i === c.width - 1 ? (4 * here + 7) >> 4 : (3 * here + colSum(i + 1) + 7) >> 4;
        else value = i === 0 ? (4 * here + 8) >> 4 : (3 * here + colSum(i - 1) + 8) >> 4;
        out[y * width + x] = value;
      }
    }
  } else {
    // Any other ratio: replicate each sample sx x sy times (libjpeg does the same).
    for (let y = 0; y < height; y++) {
      const row = Math.floor(y / sy) * stride;
      for (let x = 0; x < width; x++) out[y * width + x] = c.plane[row + Math.floor(x / sx)];
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// 8. Color conversion
// ------------------------------------------------------------------------------------------

const SCALE_BITS = 16;
const ONE_HALF = 1 << (SCALE_BITS - 1);
const fix = (x: number): number => Math.round(x * (1 << SCALE_BITS));

/** libjpeg's jdcolor.c tables: the products for every Cb / Cr value, in 16-bit fixed point. */
const COLOR_TABLES = (() => {
  const crR = new Int32Array(256);
  const cbB = new Int32Array(256);
  const crG = new Int32Array(256);
  const cbG = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const x = i - 128;
    crR[i] = (fix(1.402) * x + ONE_HALF) >> SCALE_BITS;
    cbB[i] = (fix(1.772) * x + ONE_HALF) >> SCALE_BITS;
    crG[i] = -fix(0.71414) * x;
    cbG[i] = -fix(0.34414) * x + ONE_HALF;
  }
  return { crR, cbB, crG, cbG };
})();

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** Full-range BT.601 YCbCr -> interleaved RGB, bit-exact with libjpeg. */
function ycbcrToRgb(yPlane: Uint8Array, cbPlane: Uint8Array, crPlane: Uint8Array): Uint8Array {
  const { crR, cbB, crG, cbG } = COLOR_TABLES;
  const out = new Uint8Array(yPlane.length * 3);
  for (let i = 0; i < yPlane.length; i++) {
    const y = yPlane[i];
    const cb = cbPlane[i];
    const cr = crPlane[i];
    out[3 * i] = clampByte(y + crR[cr]);
    out[3 * i + 1] = clampByte(y + ((cbG[cb] + crG[cr]) >> SCALE_BITS));
    out[3 * i + 2] = clampByte(y + cbB[cb]);
  }
  return out;
}

function interleave(planes: Uint8Array[], pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * planes.length);
  for (let i = 0; i < pixels; i++) {
    for (let c = 0; c < planes.length; c++) out[i * planes.length + c] = planes[c][i];
  }
  return out;
}
