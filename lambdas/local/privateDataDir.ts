import { chmod, lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/** The mode of every directory under the data dir (the data dir included): its owner's only. */
export const PRIVATE_DIR_MODE = 0o700;
/** The mode of every file under the data dir: readable and writable by its owner only. */
export const PRIVATE_FILE_MODE = 0o600;
/** The umask the local server runs with, so that what it creates (LevelDB's files included) is private. */
export const PRIVATE_UMASK = 0o077;

/**
 * Makes a data dir and everything in it private to its owner: directories 0700, files 0600 (a
 * symbolic link is left as it is, and not followed). A data dir made by an older version, by hand or
 * with a loose umask, is tightened before the server opens anything in it.
 *
 * @example
 * ```ts
 * await makePrivate("/home/ada/project/.aloft");
 * ```
 */
export async function makePrivate(dir: string): Promise<void> {
  const stats = await lstat(dir);
  if (stats.isSymbolicLink()) return;
  if (stats.isDirectory()) {
    if ((stats.mode & 0o777) !== PRIVATE_DIR_MODE) await chmod(dir, PRIVATE_DIR_MODE);
    for (const name of await readdir(dir)) await makePrivate(join(dir, name));
  } else if ((stats.mode & 0o777) !== PRIVATE_FILE_MODE) {
    await chmod(dir, PRIVATE_FILE_MODE);
  }
}

let holders = 0;
let ownersUmask: number | undefined;

/**
 * Sets this process's umask to {@link PRIVATE_UMASK} while at least one local server holds it,
 * so every file and directory the server creates — LevelDB's new tables and logs as it compacts,
 * payloads, the token — is its owner's only; the returned function gives it back (the umask it had
 * is restored when the last holder releases it). Returns the owner's own umask, which the runner
 * processes get back (their flows' files are the user's business). In a worker thread, where the
 * umask cannot be set, it changes nothing.
 *
 * @example
 * ```ts
 * const { release, ownersUmask } = holdPrivateUmask();
 * // … the server runs …
 * release();
 * ```
 */
export function holdPrivateUmask(): { release: () => void; ownersUmask: number | undefined } {
  try {
    if (holders === 0) ownersUmask = process.umask(PRIVATE_UMASK);
  } catch {
    return { release: () => {}, ownersUmask: undefined };
  }
  holders++;
  let released = false;
  return {
    ownersUmask,
    release: () => {
      if (released) return;
      released = true;
      if (--holders === 0 && ownersUmask !== undefined) process.umask(ownersUmask);
    },
  };
}
