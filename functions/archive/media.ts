/**
 * What a provider plug-in declares about the media its result events point at, and which files an
 * event has. Pure: no AWS, no I/O. Each provider declares its media in
 * providers/<name>/runtime/media.ts; the construct's `archive.files` can add or replace paths.
 */
import type { RelayEvent } from '../core/envelope.js';

/** One kind of file a result event may point at. */
export interface MediaFileSpec {
  /** The file's kind, part of its key: `video`, `captioned_video`, `subtitles`, `thumbnail`, `gif`, `cover`... */
  readonly kind: string;
  /** Dot paths into the event's `data` (`output`, `urls.video`, `photo_urls.0`), tried in order; the first string wins. */
  readonly paths: readonly string[];
  /**
   * Content types accepted for this kind: a full type (`text/vtt`) or a prefix ending in `/`
   * (`video/`). Parameters (`; charset=...`) are ignored. @default any but text/html
   */
  readonly contentTypes?: readonly string[];
}

/** A provider's media: which of its event types are results with files, and where their links are. */
export interface MediaDeclaration {
  /** Event types whose data carries files to archive. */
  readonly eventTypes: readonly string[];
  readonly files: readonly MediaFileSpec[];
  /**
   * Hosts the provider serves its files from: exact names or `*.` suffix patterns (`*.heygen.ai`
   * matches `files.heygen.ai`, not `heygen.ai`). A source's `archive.hosts` replaces them.
   */
  readonly hosts: readonly string[];
  /** Per event type, files that replace `files` (e.g. a GIF event whose `url` is the GIF). */
  readonly filesByType?: Readonly<Record<string, readonly MediaFileSpec[]>>;
}

/** A file of one event: its kind, link and what it may be. */
export interface MediaFile {
  readonly kind: string;
  readonly url: string;
  readonly contentTypes?: readonly string[];
}

/** Reads a dot path (`a.b.0`) from a JSON value; undefined when any step is missing. */
export function readPath(value: unknown, path: string): unknown {
  let at: unknown = value;
  for (const step of path.split('.')) {
    if (Array.isArray(at) && /^\d+$/.test(step)) at = at[Number(step)];
    else if (typeof at === 'object' && at !== null && !Array.isArray(at)) at = (at as Record<string, unknown>)[step];
    else return undefined;
  }
  return at;
}

/** The specs that apply to an event of `type`. */
export function specsFor(declaration: MediaDeclaration, type: string): readonly MediaFileSpec[] {
  return declaration.filesByType?.[type] ?? declaration.files;
}

/**
 * The files an event has: for each declared kind, the first path holding a non-empty string. A kind
 * whose fields are absent or null (a GIF that was not asked for) is simply not there.
 */
export function filesOf(event: Pick<RelayEvent, 'type' | 'data'>, declaration: MediaDeclaration): MediaFile[] {
  if (!declaration.eventTypes.includes(event.type)) return [];
  const files: MediaFile[] = [];
  for (const spec of specsFor(declaration, event.type)) {
    const url = spec.paths.map((p) => readPath(event.data, p)).find((v): v is string => typeof v === 'string' && v !== '');
    if (url !== undefined)
      files.push({ kind: spec.kind, url, ...(spec.contentTypes ? { contentTypes: spec.contentTypes } : {}) });
  }
  return files;
}

/** Whether `contentType` is acceptable for a file: never HTML (an error page), else the declared list or anything. */
export function contentTypeAccepted(contentType: string | undefined, accepted: readonly string[] | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'text/html' || type === 'application/xhtml+xml') return false;
  if (!accepted) return true;
  return accepted.some((a) => (a.endsWith('/') ? type.startsWith(a) : type === a));
}

/** Whether `host` matches one of the allow-list patterns (exact, or `*.suffix` for any subdomain). */
export function hostAllowed(host: string, patterns: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((p) => {
    const pat = p.toLowerCase();
    return pat.startsWith('*.') ? h.endsWith(pat.slice(1)) && h.length > pat.length - 1 : h === pat;
  });
}

/** Merges a source's configuration over the provider's declaration; `kinds` keeps only those kinds of file. */
export function configured(
  declaration: MediaDeclaration,
  config: {
    readonly eventTypes?: readonly string[];
    readonly files?: readonly MediaFileSpec[];
    readonly hosts?: readonly string[];
    readonly kinds?: readonly string[];
  },
): MediaDeclaration {
  const keep = (specs: readonly MediaFileSpec[]) => (config.kinds ? specs.filter((f) => config.kinds?.includes(f.kind)) : specs);
  const byType = config.files ? undefined : declaration.filesByType;
  return {
    eventTypes: config.eventTypes ?? declaration.eventTypes,
    files: keep(config.files ?? declaration.files),
    hosts: config.hosts ?? declaration.hosts,
    ...(byType ? { filesByType: Object.fromEntries(Object.entries(byType).map(([t, specs]) => [t, keep(specs)])) } : {}),
  };
}
