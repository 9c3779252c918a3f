/**
 * The signal of one request's deadline (core/ingress.ts `withinDeadline`): an AbortSignal that costs
 * what an EventTarget costs. Node's own (`new AbortController().signal`, Node 20) made up about a
 * tenth of the warm handler's time at 1 KB (about 3.5 µs a request in `npm run bench:ab`; its
 * construction turns the object into a slow dictionary), issue #20.
 *
 * What the ports see, as with Node's: `instanceof AbortSignal`; `aborted`, `reason`,
 * `throwIfAborted()`; `addEventListener('abort', ..., { once })` / `removeEventListener` and
 * `onabort` (Node's EventTarget and AbortSignal's own handler property); one `abort` Event, after
 * `aborted` and `reason` are set. So the AWS SDK (`abortSignal`), Node's APIs that take a signal and
 * core/abortable.ts treat it as any AbortSignal (test/unit/request-signal.test.ts).
 * Not followed: `AbortSignal.any([signal, ...])` builds on Node's internal state, so such a composite
 * does not abort with this signal. A port that combines it so behaves as a port that ignores its
 * signal: the deadline still answers and frees the key (core/ingress.ts); only that call runs on.
 */

const ABORT = Symbol('abort');

class RequestSignal extends EventTarget {
  private abortedFlag = false;
  private abortReason: unknown = undefined;

  get aborted(): boolean {
    return this.abortedFlag;
  }

  get reason(): unknown {
    return this.abortReason;
  }

  throwIfAborted(): void {
    if (this.abortedFlag) throw this.abortReason;
  }

  [ABORT](reason: unknown): void {
    if (this.abortedFlag) return;
    this.abortedFlag = true;
    this.abortReason = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    this.dispatchEvent(new Event('abort'));
  }
}
// `instanceof AbortSignal`, and AbortSignal's `onabort` handler property (the getters above take
// precedence over AbortSignal's, which read Node's internal state).
Object.setPrototypeOf(RequestSignal.prototype, AbortSignal.prototype);

/** AbortController's shape, with a RequestSignal. */
export class RequestController {
  readonly signal: AbortSignal = new RequestSignal() as unknown as AbortSignal;

  abort(reason?: unknown): void {
    (this.signal as unknown as RequestSignal)[ABORT](reason);
  }
}
