/**
 * What the lifecycle model counts as "an alarm a person sees" (test/support/lifecycle-chaos.ts).
 * The relay's alarms are CloudWatch alarms on metrics its Lambdas emit from their run summaries
 * (providers/heygen/runtime/entries/registrar.ts, providers/heygen/runtime/entries/backfill.ts): the model reads the same summaries. An alarm is
 * a name; the invariants match them by what they say (coverage, disabled endpoint, another writer).
 *
 * Read from a summary: an `alarms` list (names, or objects with a `name`), and a registrar outcome
 * that is itself an alarm (anything but the routine ones: `endpoint_disabled`, `second_writer`,
 * alarmed as HeyGenEndpointDisabled and HeyGenSecondWriter). A backfill run whose summary or
 * checkpoint holds periods it could not cover (`uncovered`, alarmed as BackfillGap) raises `coverage`;
 * one that published events (`backfilled` > 0, outcome done or partial: metric BackfilledEvents) raises
 * HeyGenBackfilled, which says live delivery failed (the model asks for it when HeyGen's clock skew made
 * the ingress refuse deliveries as stale). It excuses no lost event (events it counts are on the bus).
 */
import type { ReconcileSummary } from '../../providers/heygen/runtime/registrar.js';

/** Registrar outcomes that need no person. */
const ROUTINE_OUTCOMES = new Set(['in_sync', 'changed', 'planned', 'secret_mismatch', 'busy', 'missing_api_key', 'unauthorized']);

function listed(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value
    .map((a) =>
      typeof a === 'string'
        ? a
        : a && typeof a === 'object'
          ? String((a as { name?: unknown; kind?: unknown }).name ?? (a as { kind?: unknown }).kind ?? '')
          : '',
    )
    .filter((n) => n !== '');
}

export function registrarAlarms(summary: ReconcileSummary): string[] {
  const s = summary as unknown as Record<string, unknown>;
  const out = listed(s.alarms);
  if (!ROUTINE_OUTCOMES.has(summary.outcome)) out.push(summary.outcome);
  return out;
}

export function backfillAlarms(run: { summary: unknown; outcome: string; state?: unknown }): string[] {
  const summary = (run.summary ?? {}) as Record<string, unknown>;
  const state = (run.state ?? {}) as Record<string, unknown>;
  const whole = run as unknown as Record<string, unknown>;
  const out = [...listed(whole.alarms), ...listed(summary.alarms)];
  const count = (v: unknown) => (typeof v === 'number' ? v : Array.isArray(v) ? v.length : v && typeof v === 'object' ? 1 : 0);
  // The checkpoint keeps uncovered periods until a person acknowledges them (alarm BackfillGap).
  if (['uncovered', 'skipped', 'notCovered', 'coverageGap'].some((k) => count(summary[k]) > 0 || count(state[k]) > 0))
    out.push('coverage (BackfillGap)');
  // BackfilledEvents (Outcome done|partial) alarms as HeyGenBackfilled: each one means live delivery failed.
  if (typeof summary.backfilled === 'number' && summary.backfilled > 0 && ['done', 'partial'].includes(String(summary.outcome)))
    out.push('HeyGenBackfilled');
  return out;
}
