import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AwsChunkedDecoder, decodedUploadHeaders } from '#local/aws-chunked';

const encode = (data: Buffer, chunkSize: number) => {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunkSize) {
    const chunk = data.subarray(i, i + chunkSize);
    parts.push(
      Buffer.from(`${chunk.length.toString(16)};chunk-signature=abc\r\n`),
      chunk,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from('0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n'));
  return Buffer.concat(parts);
};

async function decode(encoded: Buffer, pieces: number): Promise<Buffer> {
  const step = Math.max(1, Math.ceil(encoded.length / pieces));
  const slices = Array.from({ length: Math.ceil(encoded.length / step) }, (_, i) =>
    encoded.subarray(i * step, (i + 1) * step),
  );
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(slices).pipe(new AwsChunkedDecoder())) out.push(chunk as Buffer);
  return Buffer.concat(out);
}

describe('aws-chunked bodies', () => {
  it('It should recover the exact bytes, however the framing is split across reads', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 5000 }),
        fc.integer({ min: 1, max: 700 }),
        fc.integer({ min: 1, max: 50 }),
        async (bytes, chunkSize, pieces) => {
          const data = Buffer.from(bytes);
          expect((await decode(encode(data, chunkSize), pieces)).equals(data)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('It should fail on a body cut inside a chunk or a malformed header', async () => {
    const encoded = encode(Buffer.from('hello world'), 4);
    await expect(decode(encoded.subarray(0, 12), 1)).rejects.toThrow(/ended inside a chunk/);
    await expect(decode(Buffer.from('zz\r\nxx'), 1)).rejects.toThrow(/invalid/);
  });

  it('It should forward decoded uploads with the decoded length and no aws-chunked encoding', () => {
    expect(
      decodedUploadHeaders({
        'content-encoding': 'aws-chunked,gzip',
        'x-amz-decoded-content-length': '11',
        'x-amz-trailer': 'x-amz-checksum-crc32',
        'content-length': '60',
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      }),
    ).toEqual({
      'content-encoding': 'gzip',
      'content-length': '11',
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    });
    expect(decodedUploadHeaders({ 'content-length': '5' })).toBeUndefined();
  });
});
