import { createHash, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  parseStoredSigningSecret,
  type SecretSnapshot,
  SecretVersionConflictError,
  StoredTextSecretStore,
} from '../../core/secret-store.js';
import { withFileMutex } from './file-mutex.js';

/**
 * The signing secret in a local file (same format as the Secrets Manager value, plus a `version`
 * field), for the CLI and local runs. Written compare-and-set inside a file mutex, atomically
 * (temp file + rename), with mode 0600. A file without a `version` (written by hand, or by an
 * older relay) has the version `unversioned:<sha of its content>`, so a hand edit is noticed too.
 */
export class FileSigningSecretStore extends StoredTextSecretStore {
  constructor(private readonly path: string) {
    super(path);
  }

  async read(): Promise<SecretSnapshot> {
    let raw: string;
    try {
      raw = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: null, current: null, pending: null };
      throw err;
    }
    let version: string | null = null;
    try {
      const v = JSON.parse(raw) as { version?: unknown };
      if (typeof v.version === 'string') version = v.version;
    } catch {
      // a plain secret
    }
    version ??= `unversioned:${createHash('sha256').update(raw).digest('hex').slice(0, 16)}`;
    return { version, current: parseStoredSigningSecret(raw), pending: null };
  }

  protected async putText(text: string, expected: string | null): Promise<string> {
    return withFileMutex(this.path, async () => {
      const now = await this.read();
      if (now.version !== expected) throw new SecretVersionConflictError(this.path, expected);
      await mkdir(dirname(this.path), { recursive: true });
      const version = randomUUID();
      const body = JSON.parse(text) as Record<string, unknown>;
      const tmp = `${this.path}.${process.pid}.${version}.tmp`;
      await writeFile(tmp, `${JSON.stringify({ ...body, version })}\n`, { mode: 0o600 });
      await chmod(tmp, 0o600);
      await rename(tmp, this.path);
      return version;
    });
  }
}
