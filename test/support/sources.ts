/**
 * The relay with several accounts per provider that the infra, cdk-nag and cfn-lint tests
 * synthesize: two HeyGen accounts and JoggAI (and every further source the package ships).
 * Fresh instances on each call: a source binds to one relay.
 */
import type { IRelaySource } from '../../lib/source.js';
import { HeyGenSource, JoggAiSource, StandardWebhooksSource } from '../../providers/infra.js';

/** Source id → the part of its resources' logical ids that tells them apart. */
export const SOURCE_LOGICAL_ID_PARTS: Readonly<Record<string, RegExp>> = {
  'heygen-staging': /^RelaySourceheygenstaging/,
  joggai: /^RelayJoggAi/,
  replicate: /^RelaySourcereplicate/,
  heygen: /^Relay(HeyGen|Registrar|Backfill)/,
};

export function manySources(): IRelaySource[] {
  return [
    new HeyGenSource(),
    new HeyGenSource({ id: 'heygen-staging' }),
    new JoggAiSource(),
    new StandardWebhooksSource({ id: 'replicate' }),
  ];
}
