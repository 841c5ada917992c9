import { Transform, type TransformCallback } from 'node:stream';

/**
 * Decodes an `aws-chunked` request body (`Content-Encoding: aws-chunked`), as the SDKs and the AWS CLI
 * send streaming uploads: `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` … `0\r\n<trailers>\r\n\r\n`.
 * Stored as it comes, the framing would become content; the sandbox strips it. Chunk signatures and the
 * trailing checksum are not verified.
 */
export class AwsChunkedDecoder extends Transform {
  private buffer: Buffer = Buffer.alloc(0);
  private remaining = 0; // bytes of the current chunk still to pass through
  private state: 'header' | 'data' | 'data-end' | 'trailer' = 'header';

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    try {
      this.drain();
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    done(this.state === 'trailer' ? undefined : new Error('aws-chunked body ended inside a chunk'));
  }

  private drain(): void {
    for (;;) {
      if (this.state === 'data') {
        if (this.buffer.length === 0) return;
        const take = Math.min(this.remaining, this.buffer.length);
        this.push(this.buffer.subarray(0, take));
        this.buffer = this.buffer.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'data-end';
        continue;
      }
      const lineEnd = this.buffer.indexOf('\r\n');
      if (lineEnd < 0) return;
      const line = this.buffer.subarray(0, lineEnd).toString('latin1');
      this.buffer = this.buffer.subarray(lineEnd + 2);
      if (this.state === 'data-end') {
        if (line !== '') throw new Error('aws-chunked chunk is not followed by CRLF');
        this.state = 'header';
      } else if (this.state === 'header') {
        const size = Number.parseInt(line.split(';')[0] ?? '', 16);
        if (!Number.isFinite(size))
          throw new Error(`aws-chunked chunk header "${line.slice(0, 40)}" is invalid`);
        if (size === 0) this.state = 'trailer';
        else {
          this.remaining = size;
          this.state = 'data';
        }
      } else {
        // Trailer lines (x-amz-checksum-…) until the empty line that ends the body: dropped.
        if (line === '') this.buffer = Buffer.alloc(0);
      }
    }
  }
}

/** Whether a request body is aws-chunked, and the headers it must be forwarded with once decoded. */
export function decodedUploadHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | string[] | undefined> | undefined {
  const encodings = String(headers['content-encoding'] ?? '')
    .split(',')
    .map((value) => value.trim())
    .filter(Boolean);
  if (!encodings.includes('aws-chunked')) return undefined;
  const rest = encodings.filter((value) => value !== 'aws-chunked');
  const decoded: Record<string, string | string[] | undefined> = { ...headers };
  delete decoded['content-encoding'];
  delete decoded['x-amz-trailer'];
  delete decoded['transfer-encoding'];
  if (rest.length > 0) decoded['content-encoding'] = rest.join(',');
  decoded['content-length'] = String(headers['x-amz-decoded-content-length'] ?? '');
  decoded['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  delete decoded['x-amz-decoded-content-length'];
  return decoded;
}
