/**
 * What proves that HeyGen addressed a history entry to OUR endpoint. HeyGen's event history
 * (GET /v3/webhooks/events) is account-wide and has no endpoint filter: another endpoint in the same
 * account (a second app, a colleague's test) has its events listed too. An entry is ours only when
 * its type is one our endpoint subscribes to (HeyGen delivers an event to every endpoint subscribed
 * to its type, so an event of such a type was addressed to us too).
 */
export function addressedToUs(entry: { eventType: string; createdAt: string }, endpoint: { events: readonly string[] }): boolean {
  return endpoint.events.includes(entry.eventType);
}
