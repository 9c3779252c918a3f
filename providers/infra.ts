/**
 * The sources the package ships (each in its provider's folder), and the construct's earlier props
 * (`heygen`, `joggai`) as sugar over `sources`. Adding a provider: its folder plus a line here.
 */

import { RelayConfigError } from '../lib/config.js';
import type { IRelaySource } from '../lib/source.js';
import { type HeyGenProviderProps, HeyGenSource } from './heygen/infra/source.js';
import { type JoggAiProviderProps, JoggAiSource } from './joggai/infra/source.js';

export type { HeyGenProviderProps, HeyGenRegistrationProps } from './heygen/infra/source.js';
export { type BoundHeyGenSource, HeyGenSource, type HeyGenSourceProps } from './heygen/infra/source.js';
export type { JoggAiProviderProps, JoggAiRegistrationProps } from './joggai/infra/source.js';
export { type BoundJoggAiSource, JoggAiSource, type JoggAiSourceProps } from './joggai/infra/source.js';
export {
  StandardWebhooksSource,
  type StandardWebhooksSourceProps,
} from './standard-webhooks/infra/source.js';

/** The construct's shorthands over `sources`, one a provider that has one (HeyGenRelayProps extends these). */
export interface ProviderShorthandProps {
  /**
   * Sugar over `sources`: HeyGen intake, or `false` to leave HeyGen out. Prefer `sources`.
   * @default enabled with defaults (when `sources` is not given)
   */
  readonly heygen?: HeyGenProviderProps | false;
  /**
   * Sugar over `sources`: JoggAI intake (`POST /joggai`), with its registrar unless
   * `joggai.registration` is false. Prefer `sources`. @default disabled
   */
  readonly joggai?: JoggAiProviderProps;
}

/** What the shorthands say, as sources: HeyGen unless `heygen: false`, JoggAI when `joggai` is set. */
export function sourcesFromProps(
  props: ProviderShorthandProps & { readonly sources?: readonly IRelaySource[] },
): readonly IRelaySource[] {
  if (props.sources) {
    if (props.heygen !== undefined || props.joggai !== undefined)
      throw new RelayConfigError(
        'Give either sources or the heygen/joggai props, not both (heygen/joggai are sugar over sources)',
      );
    if (props.sources.length === 0) throw new RelayConfigError('sources is empty: a relay needs at least one source');
    return props.sources;
  }
  const sources = [
    ...(props.heygen === false ? [] : [new HeyGenSource(props.heygen ?? {})]),
    ...(props.joggai ? [new JoggAiSource(props.joggai)] : []),
  ];
  if (sources.length === 0)
    throw new RelayConfigError('At least one provider must be enabled (heygen is false and joggai is not set)');
  return sources;
}
