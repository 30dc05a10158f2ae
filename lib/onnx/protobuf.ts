/**
 * The protocol-buffers wire format, as far as ONNX's messages need it (writing only): varints,
 * length-delimited fields (strings, bytes, nested messages, packed numbers) and 32-bit floats.
 * https://protobuf.dev/programming-guides/encoding/
 */

const VARINT = 0, FIXED32 = 5, LENGTH_DELIMITED = 2;

/** Builds one message's bytes, field by field (call `field...` in any order; repeated fields repeat). */
export class ProtoWriter {
  #chunks: Uint8Array[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  #push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#length += bytes.length;
  }

  #key(field: number, wire: number): void {
    this.#varint(field * 8 + wire);
  }

  /** A non-negative integer, or a negative one as its 64-bit two's complement (ten bytes), as protobuf encodes int64. */
  #varint(n: number): void {
    const out: number[] = [];
    if (n < 0) {
      // Two's complement over 64 bits: 2^64 + n, written 7 bits at a time with BigInt (rare: -1 in a shape).
      let v = (1n << 64n) + BigInt(n);
      while (v >= 0x80n) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n; }
      out.push(Number(v));
    } else {
      while (n >= 0x80) { out.push((n % 0x80) | 0x80); n = Math.floor(n / 0x80); }
      out.push(n);
    }
    this.#push(Uint8Array.from(out));
  }

  /** An int32/int64/enum/bool field (a varint). */
  int(field: number, n: number): this {
    this.#key(field, VARINT);
    this.#varint(n);
    return this;
  }

  /** A float field (32-bit, little-endian). */
  float(field: number, x: number): this {
    this.#key(field, FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    this.#push(b);
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.#key(field, LENGTH_DELIMITED);
    this.#varint(data.length);
    this.#push(data);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }

  /** A packed repeated int64 field. */
  packedInts(field: number, values: readonly number[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.#varint(v);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated float field. */
  packedFloats(field: number, values: readonly number[]): this {
    const b = new Uint8Array(4 * values.length);
    const view = new DataView(b.buffer);
    values.forEach((v, i) => view.setFloat32(4 * i, v, true));
    return this.bytes(field, b);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.#length);
    let at = 0;
    for (const c of this.#chunks) { out.set(c, at); at += c.length; }
    return out;
  }
}
