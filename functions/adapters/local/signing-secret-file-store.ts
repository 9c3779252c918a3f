import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StoredSigningSecret } from '../../core/ports.js';
import {
  type IssuedSigningSecret,
  parseStoredSigningSecret,
  type SigningSecretStore,
  serializeStoredSigningSecret,
} from '../../core/secret-store.js';

/**
 * The signing secret in a local file (same format as the Secrets Manager value), for the CLI and
 * local runs. Written atomically (temp file + rename) with mode 0600.
 */
export class FileSigningSecretStore implements SigningSecretStore {
  constructor(private readonly path: string) {}

  get name(): string {
    return this.path;
  }

  async get(): Promise<StoredSigningSecret | null> {
    try {
      return parseStoredSigningSecret(await readFile(this.path, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async put(value: IssuedSigningSecret): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, `${serializeStoredSigningSecret(value)}\n`, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.path);
  }
}
