/**
 * Whether a process with this id exists on this machine (signal 0 checks without signalling; EPERM
 * means it exists but belongs to another user). What lock files of the local server and test tools
 * use to tell a lock held by a live process from one left by a killed one.
 *
 * @example
 * ```ts
 * isProcessAlive(process.pid); // true
 * ```
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
