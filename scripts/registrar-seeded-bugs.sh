#!/usr/bin/env bash
# Seeds one bug at a time into the registrar's proof rule and checks that the named tests of
# test/unit/heygen-registrar-proof.test.ts catch it (issue 19: a model, or a test, that cannot fail
# proves nothing). Each mutation edits a source file in place and is undone at once (also on exit).
# Usage: bash scripts/registrar-seeded-bugs.sh     (prints one line per bug: caught / NOT caught)
set -u
cd "$(dirname "$0")/.."
PROOF=providers/heygen/runtime/proof.ts
REG=providers/heygen/runtime/registrar.ts
backup=$(mktemp -d)
cp "$PROOF" "$REG" "$backup/"
restore() { cp "$backup/proof.ts" "$PROOF"; cp "$backup/registrar.ts" "$REG"; }
trap 'restore; rm -rf "$backup"' EXIT

# name # file # sed script # test name that must fail
bugs=(
  "no type filter (a neighbour's events count)#$PROOF#s/return endpoint.events.includes(entry.eventType);/return true;/#a neighbour endpoint's events never count as proof"
  "the window rule of finding 1 (entries older than the dedup window count; with any refusal taken for the entry's own, which alone masks it)#$PROOF#s/w.now - w.dedupWindowMs + dedupWindowMargin(w.dedupWindowMs),/Number.NEGATIVE_INFINITY,/;s/const own = refused.find((r) => r.key === entryKey);/const own = [...refused].sort((a, b) => b.at - a.at)[0];/#a stranger's bad POST never rotates"
  "healing on refusals alone (no missed entry needed)#$REG#s/if (!newest) return null;/if (!newest) return { rejectedAt: now, missed: { eventId: '', type: '', createdAt: '' } };/#a stranger's bad POST never rotates"
  "healing on missed entries alone (no refusal needed)#$REG#s/if (!refusedKeys.some((r) => r.at >= window.from)) return null;//;s/if (!refusal) return null;/const refusal = { at: now };/;s/const refusal = refusalOfEntry/const unused = refusalOfEntry/#an outage is not a dead secret"
  "any refusal, not the missed entry's own (the rule before refused keys)#$PROOF#s/const own = refused.find((r) => r.key === entryKey);/const own = refused.at(-1);/#needless-rotation-stranger"
  "any missed entry, not the newest (with any refusal taken for the entry's own, which alone masks it)#BOTH#s/if (!newest || created > Date.parse(newest.createdAt)) newest = entry;/if (!newest || created < Date.parse(newest.createdAt)) newest = entry;/;s/const own = refused.find((r) => r.key === entryKey);/const own = [...refused].sort((a, b) => b.at - a.at)[0];/#a miss that later deliveries outran proves nothing"
  "no rate limit on takeovers#$REG#s/export const HEAL_RATE_WINDOW_MS = 24 \\* 3_600_000;/export const HEAL_RATE_WINDOW_MS = 0;/#two stacks on one URL over 12 h"
  "a failing intent replayed forever#$REG#s/export const MAX_REPLAY_FAILURES = 3;/export const MAX_REPLAY_FAILURES = 1_000;/#an intent whose replay keeps failing"
  "the proof window from the version's CreatedDate (the registrar's sighting ignored)#$PROOF#s/Math.max(w.storedAt, w.currentSince) + grace,/w.storedAt + grace,/#needless-rotation-label-moved-back"
)
for b in "${bugs[@]}"; do
  IFS='#' read -r name file expr test <<<"$b"
  # BOTH: the script applies to proof.ts and registrar.ts (a bug seeded with the any-refusal one).
  if [ "$file" = BOTH ]; then files=("$PROOF" "$REG"); else files=("$file"); fi
  sed -i "$expr" "${files[@]}"
  changed=0
  for f in "${files[@]}"; do cmp -s "$f" "$backup/$(basename "$f")" || changed=$((changed + 1)); done
  if [ "$changed" -lt "${#files[@]}" ]; then echo "SEED FAILED (no change): $name"; restore; continue; fi
  if npx vitest run test/unit/heygen-registrar-proof.test.ts -t "$test" >/dev/null 2>&1; then
    echo "NOT caught: $name"
  else
    echo "caught: $name (by \"$test\")"
  fi
  restore
done
