/**
 * A minimal typed event emitter: `on`/`emit` accept only the names of the listener interface, with
 * their exact signatures (STYLE habit 6). A listener that throws must not take the supervisor down
 * with it, so its error is handed to `onListenerError` instead of propagating into process handling.
 */
type AnyFn = (...args: never[]) => unknown;

export class TypedEmitter<L extends { [K in keyof L]: AnyFn }> {
  private readonly listeners = new Map<keyof L, Array<L[keyof L]>>();

  constructor(private readonly onListenerError: (err: unknown) => void = () => undefined) {}

  on<K extends keyof L>(event: K, listener: L[K]): this {
    const list = this.listeners.get(event) ?? [];
    list.push(listener);
    this.listeners.set(event, list);
    return this;
  }

  protected emit<K extends keyof L>(event: K, ...args: Parameters<L[K]>): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as (...a: Parameters<L[K]>) => unknown)(...args);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }
}
