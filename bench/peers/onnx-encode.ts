/**
 * A minimal ONNX model writer: enough of the protobuf wire format and of onnx.proto to describe
 * a graph of a few float32 nodes (MatMul, Conv, ConvTranspose, Transpose) whose inputs are all
 * fed at run time, so the bench can build the ort peer's models in code instead of shipping files.
 *
 *   const bytes = encodeModel({
 *     nodes: [{ op: 'MatMul', inputs: ['A', 'B'], outputs: ['Y'] }],
 *     inputs: [{ name: 'A', shape: [2, 3] }, { name: 'B', shape: [3, 4] }],
 *     outputs: [{ name: 'Y', shape: [2, 4] }],
 *   });
 *
 * What it is not: a general protobuf library. It writes only the fields below (numbers from
 * onnx.proto), never reads, and supports float32 tensors and int / ints / float attributes.
 *
 * Protobuf wire format in short: a message is a sequence of fields, each a key
 * `(fieldNumber << 3) | wireType` written as a varint, then the value: wire type 0 is a varint
 * (int64, int32, enum), 2 is length-delimited (a varint byte length, then bytes: strings, nested
 * messages, packed repeated numbers), 5 is a little-endian 32-bit value (float).
 */

export type Attribute = number | number[] | { float: number };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, Attribute>;
}

export interface OnnxValue {
  name: string;
  shape: number[];
}

export interface OnnxGraph {
  nodes: OnnxNode[];
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  /** opset of the default domain; 17 unless given */
  opset?: number;
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_FLOAT = 1,
  ATTR_INT = 2,
  ATTR_INTS = 7; // AttributeProto.AttributeType

/** Bytes of one message under construction. */
class Writer {
  private bytes: number[] = [];

  /** An unsigned varint: 7 bits a byte, low first, high bit set on all but the last byte. */
  varint(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`onnx-encode: varint ${v} is not an integer >= 0`);
    while (v >= 0x80) {
      this.bytes.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.bytes.push(v);
    return this;
  }

  private key(field: number, wireType: number): this {
    return this.varint(field * 8 + wireType);
  }

  /** An int64/int32/enum field (values >= 0: the models here need no negative numbers). */
  int(field: number, v: number): this {
    return this.key(field, 0).varint(v);
  }

  float(field: number, v: number): this {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.key(field, 5).bytes.push(...b);
    return this;
  }

  bytesField(field: number, b: Uint8Array): this {
    this.key(field, 2).varint(b.length);
    for (const x of b) this.bytes.push(x);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytesField(field, new TextEncoder().encode(s));
  }

  message(field: number, m: Writer): this {
    return this.bytesField(field, m.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** ValueInfoProto { name = 1, type = 2 { tensor_type = 1 { elem_type = 1, shape = 2 { dim = 1 { dim_value = 1 } } } } } */
function valueInfo(v: OnnxValue): Writer {
  const shape = new Writer();
  for (const d of v.shape) shape.message(1, new Writer().int(1, d));
  const tensorType = new Writer().int(1, FLOAT).message(2, shape);
  return new Writer().string(1, v.name).message(2, new Writer().message(1, tensorType));
}

/** AttributeProto { name = 1, f = 2, i = 3, ints = 8, type = 20 } */
function attribute(name: string, a: Attribute): Writer {
  const w = new Writer().string(1, name);
  if (typeof a === 'number') return w.int(3, a).int(20, ATTR_INT);
  if (Array.isArray(a)) {
    // onnx.proto is proto2: repeated numbers are unpacked, one key per value
    for (const v of a) w.int(8, v);
    return w.int(20, ATTR_INTS);
  }
  return w.float(2, a.float).int(20, ATTR_FLOAT);
}

/** NodeProto { input = 1, output = 2, name = 3, op_type = 4, attribute = 5 } */
function node(n: OnnxNode, index: number): Writer {
  const w = new Writer();
  n.inputs.forEach((s) => w.string(1, s));
  n.outputs.forEach((s) => w.string(2, s));
  w.string(3, `${n.op.toLowerCase()}${index}`).string(4, n.op);
  for (const [name, a] of Object.entries(n.attributes ?? {})) w.message(5, attribute(name, a));
  return w;
}

/**
 * ModelProto { ir_version = 1, producer_name = 2, graph = 7, opset_import = 8 { domain = 1, version = 2 } }
 * with GraphProto { node = 1, name = 2, input = 11, output = 12 }.
 */
export function encodeModel(g: OnnxGraph): Uint8Array {
  const graph = new Writer();
  g.nodes.forEach((n, i) => graph.message(1, node(n, i)));
  graph.string(2, 'synface-bench');
  g.inputs.forEach((v) => graph.message(11, valueInfo(v)));
  g.outputs.forEach((v) => graph.message(12, valueInfo(v)));
  return new Writer()
    .int(1, 8) // IR version 8 (ONNX 1.10+), enough for opset 17
    .string(2, 'synface-gpu bench')
    .message(7, graph)
    .message(8, new Writer().string(1, '').int(2, g.opset ?? 17))
    .finish();
}
