/** Output kept up to a limit; the rest counted as dropped. */
export class Bounded {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly limit: number) {}
  push(c: Uint8Array): void {
    const room = this.limit - this.size;
    if (room <= 0) {
      this.truncated ||= c.byteLength > 0;
      return;
    }
    const part = c.byteLength <= room ? c : c.subarray(0, room);
    if (part.byteLength < c.byteLength) this.truncated = true;
    this.chunks.push(part);
    this.size += part.byteLength;
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}
