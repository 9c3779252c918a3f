/**
 * The conditions under which events stop flowing and only a person can restart them (issue 19), as
 * `heygen-relay status` reports them: every one that holds, each with what a person must do, never
 * one picked from several. Pure: it judges what status.ts read.
 *
 * - `endpoint_disabled`: HeyGen lists our endpoint as disabled (its API, when status could read it;
 *   else the registrar's newest runs ended `endpoint_disabled`). HeyGen's v3 API cannot enable it.
 * - `second_writer`: the registrar's newest runs ended `second_writer` (it stopped healing rather than
 *   fight another writer); with the takeovers its heal journal holds from the last 24 h and every
 *   endpoint HeyGen lists at our URL (a second one is another stack's).
 * - `backfill_gap`: periods the backfill could not cover (older than the dedup window, or passed over
 *   when HeyGen's listing changed its order), with their entries of ours.
 * - `history_short`: periods HeyGen's history did not reach back far enough to prove covered, with how
 *   long HeyGen was seen keeping entries.
 * - `subscription_unsure`: entries the backfill did not publish because our endpoint may not have
 *   subscribed to their type when they were created (maybe a neighbour's); a person who finds one
 *   addressed to us in HeyGen's history publishes it with `backfill --publish-unsure <event_id>`.
 * The three backfill conditions stay until `heygen-relay backfill --acknowledge-gap` (alarm
 * HeyGenBackfillGap, which no later run clears).
 */
import type { Takeover } from '../../functions/core/heal-journal.js';
import type { UncoveredPeriod } from '../../providers/heygen/runtime/backfill.js';

export const CONDITION_IDS = [
  'endpoint_disabled',
  'second_writer',
  'backfill_gap',
  'history_short',
  'subscription_unsure',
] as const;
export type ConditionId = (typeof CONDITION_IDS)[number];

export interface Condition {
  /** What holds, in one sentence. */
  readonly what: string;
  /** What a person must do. */
  readonly action: string;
  /** The alarm that told a person (its logical id in the stack). */
  readonly alarm: string;
  /** For the backfill's: the periods not covered. */
  readonly periods?: readonly { from: string; until: string; entries: number | null }[];
  /** For the backfill's: entries of ours in them (known ones; null when none of them is known). */
  readonly entries?: number | null;
  /** For `history_short`: the longest HeyGen was seen keeping an entry, in hours (null: never seen). */
  readonly historyKeptHours?: number | null;
  /** For `endpoint_disabled` / `second_writer`: HeyGen's endpoints at our URL (id and status). */
  readonly endpoints?: readonly { id: string; status: string }[];
  /** For `second_writer`: takeovers the registrar recorded in the last 24 h. */
  readonly takeovers?: readonly { at: string; kind: string; endpointId: string; target?: string }[];
  /** For the registrar's: the hour of the newest runs that reported it. */
  readonly reportedAt?: string;
}

/** One field per condition: null when it does not hold. */
export type Conditions = Record<ConditionId, Condition | null>;

export interface ConditionInputs {
  /** `--stack X` or `--bus Y`: how a printed command finds this relay. */
  readonly where: string;
  /** HeyGen's endpoints at our URL; undefined when status could not read HeyGen's API. */
  readonly endpoints?: readonly { id: string; status: string }[];
  /** The registrar's newest runs (every outcome of that hour). */
  readonly registrar?: { readonly outcomes: readonly string[]; readonly at: string } | null;
  readonly uncovered?: readonly UncoveredPeriod[];
  readonly historyKeptMs?: number | null;
  /** The heal journal's takeovers (any age: those of the last 24 h are shown). */
  readonly takeovers?: readonly Takeover[];
  readonly now: number;
}

const HOUR = 3_600_000;
const hours = (ms: number) => Math.round(ms / (HOUR / 10)) / 10;

function endpointDisabled(i: ConditionInputs): Condition | null {
  const disabled = (i.endpoints ?? []).filter((e) => e.status !== 'enabled');
  const reported = i.registrar?.outcomes.includes('endpoint_disabled') ?? false;
  // HeyGen's own listing, when read, is the truth now; the registrar's report stands in when it was not.
  if (i.endpoints ? disabled.length === 0 : !reported) return null;
  const what = i.endpoints
    ? `HeyGen lists our webhook endpoint ${disabled.map((e) => `${e.id} as ${e.status}`).join(', ')}: nothing is delivered`
    : `the registrar's runs in the hour from ${i.registrar?.at} found our webhook endpoint disabled at HeyGen: nothing is delivered`;
  return {
    what,
    action: `re-enable the endpoint in HeyGen's dashboard (Webhooks); HeyGen's v3 API cannot. Then heygen-relay backfill ${i.where} for what the dedup window still covers`,
    alarm: 'HeyGenEndpointDisabled',
    ...(i.endpoints ? { endpoints: i.endpoints } : {}),
    ...(reported && i.registrar ? { reportedAt: i.registrar.at } : {}),
  };
}

function secondWriter(i: ConditionInputs, windowMs: number): Condition | null {
  if (!i.registrar?.outcomes.includes('second_writer')) return null;
  const takeovers = (i.takeovers ?? [])
    .filter((t) => i.now - t.at < windowMs)
    .map((t) => ({
      at: new Date(t.at).toISOString(),
      kind: t.kind,
      endpointId: t.endpointId,
      ...(t.target ? { target: t.target } : {}),
    }));
  const others = (i.endpoints ?? []).length > 1;
  const who = others
    ? `HeyGen lists ${i.endpoints?.length} endpoints at our URL (${i.endpoints?.map((e) => e.id).join(', ')}): another stack registered at it (a copied stack, a second region behind one domain)`
    : "a person changing the secret or endpoint in HeyGen's dashboard, or another stack at our URL (a copied stack, a second region behind one domain)";
  const taken = takeovers.length
    ? `; takeovers in the last 24 h: ${takeovers.map((t) => `${t.kind} of ${t.endpointId} at ${t.at}`).join(', ')}`
    : '';
  return {
    what: `another writer keeps changing our endpoint's secret or settings, so the registrar stopped healing (runs in the hour from ${i.registrar.at}); who: ${who}${taken}`,
    action: `find and remove the other writer (or give each stack its own URL), then heygen-relay rotate ${i.where}; healing resumes by itself 24 h after the last takeover`,
    alarm: 'HeyGenSecondWriter',
    ...(i.endpoints ? { endpoints: i.endpoints } : {}),
    takeovers,
    reportedAt: i.registrar.at,
  };
}

const entriesText = (n: number | null) => (n === null ? 'entries unknown' : `${n} entr${n === 1 ? 'y' : 'ies'}`);
/** Why a period of `backfill_gap` was not covered (the other conditions have one reason each). */
const GAP_WHY: Partial<Record<UncoveredPeriod['reason'], string>> = {
  dedup_window: 'older than the dedup window',
  order: "passed over when HeyGen's listing changed its order",
};

/** The periods of some reasons, as a condition's fields and one short text. */
function gapOf(periods: readonly UncoveredPeriod[]) {
  const known = periods.filter((p) => p.entries !== null);
  const entries = known.length ? known.reduce((n, p) => n + (p.entries ?? 0), 0) : null;
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    periods: periods.map((p) => ({ from: iso(p.fromMs), until: iso(p.untilMs), entries: p.entries })),
    entries,
    text: periods
      .map(
        (p) =>
          `${iso(p.fromMs)} .. ${iso(p.untilMs)} (${[entriesText(p.entries), GAP_WHY[p.reason]].filter(Boolean).join(', ')})`,
      )
      .join('; '),
  };
}

/** Whole hours back to the oldest period's start: the `--since` that reaches every one. */
function sinceHours(now: number, periods: readonly UncoveredPeriod[]): number {
  return Math.ceil((now - Math.min(...periods.map((p) => p.fromMs))) / HOUR);
}

function backfillConditions(i: ConditionInputs): Pick<Conditions, 'backfill_gap' | 'history_short' | 'subscription_unsure'> {
  const of = (...reasons: UncoveredPeriod['reason'][]) => (i.uncovered ?? []).filter((p) => reasons.includes(p.reason));
  const ack = `then heygen-relay backfill ${i.where} --acknowledge-gap`;
  const gap = of('dedup_window', 'order');
  const history = of('history');
  const unsure = of('subscription');
  const kept = i.historyKeptMs == null ? null : hours(i.historyKeptMs);
  const g = gapOf(gap);
  const h = gapOf(history);
  const u = gapOf(unsure);
  return {
    backfill_gap: gap.length
      ? {
          what: `the backfill could not cover ${gap.length} period(s), ${entriesText(g.entries)} of ours: ${g.text}`,
          action: `events of ours created then may never have reached the bus: publish what HeyGen still lists of them with heygen-relay backfill ${i.where} --since ${sinceHours(i.now, gap)}h --allow-duplicates (some may be second copies, same envelope id: consumers drop them by id), ${ack}`,
          alarm: 'HeyGenBackfillGap',
          periods: g.periods,
          entries: g.entries,
        }
      : null,
    history_short: history.length
      ? {
          what: `HeyGen's history may not reach back far enough: ${history.length} period(s) not proven covered, ${h.text}; HeyGen was seen keeping entries ${kept === null ? 'never' : `${kept} h`} at most`,
          action: `events of that period cannot be recovered from HeyGen's history and may be lost: check your app for work HeyGen did then (e.g. its videos), ${ack}`,
          alarm: 'HeyGenBackfillGap',
          periods: h.periods,
          entries: h.entries,
          historyKeptHours: kept,
        }
      : null,
    subscription_unsure: unsure.length
      ? {
          what: `${entriesText(u.entries)} not published: our endpoint may not have subscribed to their type when they were created (maybe a neighbour endpoint's): ${u.text}`,
          action: `if your app needed events of those types then, look that period up in HeyGen's event history (GET /v3/webhooks/events) and publish those addressed to us by their event_id with heygen-relay backfill ${i.where} --since ${sinceHours(i.now, unsure)}h --publish-unsure <event_id>..., ${ack}`,
          alarm: 'HeyGenBackfillGap',
          periods: u.periods,
          entries: u.entries,
        }
      : null,
  };
}

/** Every condition, one field each (null: does not hold). */
export function judgeConditions(i: ConditionInputs, healWindowMs: number): Conditions {
  return {
    endpoint_disabled: endpointDisabled(i),
    second_writer: secondWriter(i, healWindowMs),
    ...backfillConditions(i),
  };
}

/** Each condition that holds, in a fixed order: its attention line and its to-do. */
export function conditionEntries(c: Conditions): { line: string; todo: string }[] {
  return CONDITION_IDS.flatMap((id) => {
    const x = c[id];
    return x ? [{ line: `${id}: ${x.what}`, todo: `to do: ${x.action} (alarm ${x.alarm})` }] : [];
  });
}

/** One attention line per condition that holds (what holds; to do), in a fixed order. */
export function conditionLines(c: Conditions): string[] {
  return conditionEntries(c).map((e) => `${e.line}; ${e.todo}`);
}
