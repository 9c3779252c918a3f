/** Signed HeyGen-shaped deliveries of an exact byte size, unique per sequence number. */
import { createHmac } from 'node:crypto';

export const BENCH_SECRET = 'whsec_fake_bench_0123456789abcdef0123456789ab';

export interface BodyFactory {
  size: number;
  body(seq: number): string;
}

/** `{"event_type":...,"event_data":{"video_id":"v_<seq>",...,"pad":"xxx"}}` of exactly `size` bytes. */
export function bodyFactory(size: number, tag = 'b'): BodyFactory {
  const head = '{"event_type":"avatar_video.success","event_data":{"video_id":"v_';
  const mid = `","callback_id":"cb_${tag}","url":"https://resource.example/video.mp4","duration":12.5,"pad":"`;
  const tail = '"}}';
  const fixed = head.length + 12 + mid.length + tail.length;
  if (size < fixed) throw new Error(`body size ${size} below ${fixed}`);
  const pad = 'x'.repeat(size - fixed);
  const pre = head;
  const post = `${mid}${pad}${tail}`;
  return { size, body: (seq) => `${pre}${String(seq).padStart(12, '0')}${post}` };
}

export function sign(secret: string, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}
