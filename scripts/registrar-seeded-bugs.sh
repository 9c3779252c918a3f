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
  "the window rule of finding 1 (entries older than the dedup window count)#$PROOF#s/w.now - w.dedupWindowMs + dedupWindowMargin(w.dedupWindowMs),/Number.NEGATIVE_INFINITY,/#a stranger's bad POST never rotates"
  "healing on refusals alone (no missed entry needed)#$REG#s/if (!newest) return null;/if (!newest) return { rejectedAt, missed: { eventId: '', type: '', createdAt: '' } };/#a stranger's bad POST never rotates"
  "healing on missed entries alone (no refusal needed)#$REG#s/if (rejectedAt === null || rejectedAt < window.from) return null;//;s/if (!refusalMatches(rejectedAt, window.from, created)) return null;//#an outage is not a dead secret"
  "any missed entry, not the newest#$REG#s/if (!newest || created > Date.parse(newest.createdAt)) newest = entry;/if (!newest || created < Date.parse(newest.createdAt)) newest = entry;/#a miss that later deliveries outran proves nothing"
  "no rate limit on takeovers#$REG#s/export const HEAL_RATE_WINDOW_MS = 24 \\* 3_600_000;/export const HEAL_RATE_WINDOW_MS = 0;/#two stacks on one URL over 12 h"
  "a failing intent replayed forever#$REG#s/export const MAX_REPLAY_FAILURES = 3;/export const MAX_REPLAY_FAILURES = 1_000;/#an intent whose replay keeps failing"
)
for b in "${bugs[@]}"; do
  IFS='#' read -r name file expr test <<<"$b"
  sed -i "$expr" "$file"
  if cmp -s "$file" "$backup/$(basename "$file")"; then echo "SEED FAILED (no change): $name"; continue; fi
  if npx vitest run test/unit/heygen-registrar-proof.test.ts -t "$test" >/dev/null 2>&1; then
    echo "NOT caught: $name"
  else
    echo "caught: $name (by \"$test\")"
  fi
  restore
done
