// Undo and redo of the canvas: every edit is one step (a drag is one step when it ends). Pure.

export interface History<T> {
  past: T[];
  present: T;
  future: T[];
}

/** How many steps back the canvas remembers. */
export const HISTORY_LIMIT = 200;

export function start<T>(present: T): History<T> {
  return { past: [], present, future: [] };
}

/** ``next`` becomes the present; what was undone before is forgotten. */
export function record<T>(history: History<T>, next: T): History<T> {
  if (next === history.present) return history;
  const past = [...history.past, history.present].slice(-HISTORY_LIMIT);
  return { past, present: next, future: [] };
}

export function undo<T>(history: History<T>): History<T> {
  const previous = history.past.at(-1);
  if (previous === undefined) return history;
  return {
    past: history.past.slice(0, -1),
    present: previous,
    future: [history.present, ...history.future],
  };
}

export function redo<T>(history: History<T>): History<T> {
  const [next, ...rest] = history.future;
  if (next === undefined) return history;
  return { past: [...history.past, history.present], present: next, future: rest };
}

export type HistoryAction<T> =
  | { kind: "edit"; next: T }
  | { kind: "edit-with"; change: (present: T) => T }
  | { kind: "undo" }
  | { kind: "redo" }
  | { kind: "reset"; present: T }
  | { kind: "replace"; present: T };

export function historyReducer<T>(history: History<T>, action: HistoryAction<T>): History<T> {
  switch (action.kind) {
    case "edit":
      return record(history, action.next);
    case "edit-with":
      return record(history, action.change(history.present));
    case "undo":
      return undo(history);
    case "redo":
      return redo(history);
    case "reset":
      return start(action.present);
    case "replace":
      // the same document as the server holds it (defaults written out): not a step to undo
      return { ...history, present: action.present };
  }
}
