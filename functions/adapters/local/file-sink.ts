import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RelayEvent } from '../../core/envelope.js';
import type { EventPublisher } from '../../core/ports.js';

/** The EventBridge event shape a rule target would receive, as written by the local sink. */
export function toBusEvent(event: RelayEvent, busName: string) {
  return {
    version: '0',
    id: event.id,
    'detail-type': event.type,
    source: event.provider,
    time: event.receivedAt,
    'event-bus-name': busName,
    detail: event,
  };
}

/** Appends each published event as one JSON line (the local stand-in for the bus). */
export class FileSinkPublisher implements EventPublisher {
  private ready: Promise<unknown> | undefined;
  constructor(
    private readonly path: string,
    private readonly onPublish?: (line: string) => void,
  ) {}

  async publish(event: RelayEvent): Promise<void> {
    this.ready ??= mkdir(dirname(this.path), { recursive: true });
    await this.ready;
    const line = JSON.stringify(toBusEvent(event, 'local'));
    await appendFile(this.path, `${line}\n`, 'utf8');
    this.onPublish?.(line);
  }
}
