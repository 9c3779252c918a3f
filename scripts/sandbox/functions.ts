/**
 * The template's functions as the sandbox runs them: which entry each is (by its Powertools service
 * name, as the constructs set it), its environment resolved against what was provisioned, what
 * triggers it (schedule rules, SQS event source mappings) and the scheduled event EventBridge sends.
 */
import { randomUUID } from 'node:crypto';
import { ARCHIVER_SERVICE } from '../../functions/archive/names.js';
import {
  HEYGEN_BACKFILL_SERVICE,
  HEYGEN_REGISTRAR_SERVICE,
  JOGGAI_REGISTRAR_SERVICE,
  SERVICE_NAME,
} from '../../functions/core/observability-names.js';
import type { EmulatorStack } from '../../test/support/emulator-stack.js';
import { MOTO_ACCOUNT_ID, MOTO_REGION } from '../../test/support/moto.js';

/** The Lambda entry of each function of the template, by POWERTOOLS_SERVICE_NAME. */
export const ENTRY_BY_SERVICE: Readonly<Record<string, string>> = {
  [HEYGEN_REGISTRAR_SERVICE]: 'providers/heygen/runtime/entries/registrar.ts',
  [JOGGAI_REGISTRAR_SERVICE]: 'providers/joggai/runtime/entries/registrar.ts',
  [HEYGEN_BACKFILL_SERVICE]: 'providers/heygen/runtime/entries/backfill.ts',
  [`${SERVICE_NAME}-temp-route-sweeper`]: 'functions/entries/temp-route-sweeper.ts',
  [ARCHIVER_SERVICE]: 'functions/entries/archiver.ts',
};

export interface TemplateFunction {
  readonly logicalId: string;
  readonly entry: string;
  /** Short name: the service name without `heygen-relay-` (`registrar`, `backfill`, `archiver`, ...). */
  readonly name: string;
  readonly vars: Record<string, string>;
}

type Props = Record<string, unknown>;
const getAttId = (v: unknown): string | undefined => (v as { 'Fn::GetAtt'?: string[] } | undefined)?.['Fn::GetAtt']?.[0];
const refId = (v: unknown): string | undefined => (v as { Ref?: string } | undefined)?.Ref;

/** A function of the template with its environment resolved; undefined when its entry is not known here. */
export async function templateFunction(stack: EmulatorStack, logicalId: string): Promise<TemplateFunction | undefined> {
  const props = stack.template.Resources[logicalId]?.Properties as Props | undefined;
  const raw = (props?.Environment as { Variables?: Props } | undefined)?.Variables ?? {};
  const entry = ENTRY_BY_SERVICE[String(raw.POWERTOOLS_SERVICE_NAME)];
  if (!entry) return undefined;
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) vars[k] = String(await stack.resolve(v));
  return { logicalId, entry, name: String(raw.POWERTOOLS_SERVICE_NAME).replace(`${SERVICE_NAME}-`, ''), vars };
}

export interface ScheduledFunction {
  readonly rule: string;
  readonly expression: string;
  readonly fn: TemplateFunction;
}

/** Schedule rules whose target is a function of the template. */
export async function scheduledFunctions(stack: EmulatorStack): Promise<ScheduledFunction[]> {
  const out: ScheduledFunction[] = [];
  for (const [rule, r] of Object.entries(stack.template.Resources)) {
    const props = (r.Properties ?? {}) as Props;
    if (r.Type !== 'AWS::Events::Rule' || typeof props.ScheduleExpression !== 'string') continue;
    for (const t of (props.Targets ?? []) as Props[]) {
      const id = getAttId(t.Arn);
      const fn = id ? await templateFunction(stack, id) : undefined;
      if (fn) out.push({ rule, expression: props.ScheduleExpression, fn });
    }
  }
  return out;
}

/** The event EventBridge hands a function its schedule rule targets. */
export function scheduledEvent(ruleName: string): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: MOTO_ACCOUNT_ID,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: MOTO_REGION,
    resources: [`arn:aws:events:${MOTO_REGION}:${MOTO_ACCOUNT_ID}:rule/${ruleName}`],
    detail: {},
  };
}

export interface QueueSource {
  readonly queueLogicalId: string;
  readonly batchSize: number;
  readonly fn: TemplateFunction;
}

/** SQS event source mappings of the template (the archive queue and its archiver). */
export async function queueSources(stack: EmulatorStack): Promise<QueueSource[]> {
  const out: QueueSource[] = [];
  for (const r of Object.values(stack.template.Resources)) {
    if (r.Type !== 'AWS::Lambda::EventSourceMapping') continue;
    const props = (r.Properties ?? {}) as Props;
    const queue = getAttId(props.EventSourceArn);
    const fnId = refId(props.FunctionName);
    const fn = fnId ? await templateFunction(stack, fnId) : undefined;
    if (!queue || !stack.queues[queue] || !fn) continue;
    out.push({ queueLogicalId: queue, batchSize: Number(props.BatchSize ?? 10), fn });
  }
  return out;
}

/** Names made unique (two sources' registrars: `registrar`, `registrar-2`). */
export function uniqueName(name: string, taken: ReadonlySet<string>): string {
  if (!taken.has(name)) return name;
  for (let i = 2; ; i++) if (!taken.has(`${name}-${i}`)) return `${name}-${i}`;
}
