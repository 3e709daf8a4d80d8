// In-process locks on targets (see strategies/targets.ts). They need not be durable: an action that
// was running when warren stopped is marked interrupted at start-up and never resumed, so no lock
// can be held by a process that no longer exists.
import { targetsConflict } from '../strategies/targets.ts';

export class TargetLocks {
  readonly #held = new Map<string, number>();

  /** Takes every key for `owner`, or none when any conflicts with a held one. */
  tryAcquire(owner: number, keys: readonly string[]): boolean {
    for (const key of keys) for (const held of this.#held.keys()) if (targetsConflict(key, held)) return false;
    for (const key of keys) this.#held.set(key, owner);
    return true;
  }

  release(owner: number): void {
    for (const [key, holder] of this.#held) if (holder === owner) this.#held.delete(key);
  }

  /** Who holds a key conflicting with `key`, if anyone. */
  holderOf(key: string): number | undefined {
    for (const [held, owner] of this.#held) if (targetsConflict(key, held)) return owner;
    return undefined;
  }

  get size(): number {
    return this.#held.size;
  }
}
