/**
 * The logical ids a deployment's template holds (resources and outputs), for the configurations
 * whose ids must survive refactors of the construct: a changed logical id makes CloudFormation
 * replace the resource (a new, empty signing secret; a new dedup table). The fixture
 * test/infra/fixtures/logical-ids.json was written by scripts/logical-ids-fixture.ts from the code
 * before the sources refactor (commit e29a0d2); test/infra/logical-ids.test.ts compares against it.
 */
import type { HeyGenRelayProps } from '../../lib/heygen-relay.js';
import { synthRelay } from './synth.js';

/** Configurations, in the props of the construct before `sources` (the sugar must keep them working). */
export const LOGICAL_ID_CONFIGS: Readonly<Record<string, HeyGenRelayProps>> = {
  default: {},
  'heygen+joggai': { joggai: {} },
  'joggai only': { heygen: false, joggai: {} },
  'no registration, no dedup': { heygen: { registration: false }, dedup: false },
  'route queues, joggai without registration': {
    queues: [{ name: 'failures', eventTypes: ['avatar_video.fail'] }],
    joggai: { registration: false },
  },
};

export interface LogicalIds {
  readonly resources: Record<string, string>;
  readonly outputs: string[];
}

/** Logical id → resource type, and the output ids, of the relay stack synthesized with `relay`. */
export function logicalIds(relay: HeyGenRelayProps): LogicalIds {
  const { template } = synthRelay({ relay });
  const json = template.toJSON() as { Resources: Record<string, { Type: string }>; Outputs?: Record<string, unknown> };
  const resources = Object.fromEntries(
    Object.entries(json.Resources)
      .map(([id, r]) => [id, r.Type] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  return { resources, outputs: Object.keys(json.Outputs ?? {}).sort() };
}
