// Read-your-writes: the highest store position this page has seen (from a command's answer or a
// live event). Read-model queries send it as `?after=`, so they wait until it is included.
let seen = 0;
type Listener = (position: number) => void;
const listeners = new Set<Listener>();

export function notePosition(position: number | null | undefined): void {
  if (typeof position === 'number' && position > seen) {
    seen = position;
    listeners.forEach((listener) => listener(position));
  }
}

export function seenPosition(): number | undefined {
  return seen > 0 ? seen : undefined;
}

export function resetPositions(): void {
  seen = 0;
}
