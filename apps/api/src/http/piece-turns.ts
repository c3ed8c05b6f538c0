/**
 * Turns of the event loop for answers made in pieces (json-pieces.ts): one piece of all such
 * work a turn, so a request arriving meanwhile (a health probe, a small infer) waits for one
 * piece at most, however many large answers are being made. Each piece waiting on its own
 * `setImmediate` ran every waiting answer's piece in one turn: 50 GETs of one 3.8 MB job
 * held a health probe for 0.5–4.5 s here. The answer begun first goes first (the shortest mean
 * wait: all are CPU alike); the others wait their turn.
 */
export class PieceTurns {
  /** Pieces waiting for a turn, by their answer's order. */
  private readonly waiting: { order: number; go: () => void }[] = [];
  private scheduled = false;
  private issued = 0;

  /** An order for an answer begun now: its pieces go before those of answers begun later. */
  order(): number {
    return this.issued++;
  }

  /** Resolves on a later turn of the event loop, when the next piece of answer `order` may be made. */
  turn(order: number): Promise<void> {
    return new Promise((go) => {
      let at = this.waiting.length;
      while (at > 0 && this.waiting[at - 1]!.order > order) at--;
      this.waiting.splice(at, 0, { order, go });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.next);
      }
    });
  }

  /** How many pieces wait for a turn. */
  get queued(): number {
    return this.waiting.length;
  }

  // One piece a turn: the piece runs in the microtasks after this callback, and the next call
  // comes in the next turn's check phase (an immediate queued from one runs a turn later), after
  // the poll phase has read the sockets.
  private readonly next = (): void => {
    const first = this.waiting.shift();
    if (!first) {
      this.scheduled = false;
      return;
    }
    setImmediate(this.next);
    first.go();
  };
}

/** The API process's turns for pieces. */
export const pieceTurns = new PieceTurns();
