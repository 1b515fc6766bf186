/** The application payload of every throughput message: a small JSON object of about 100 bytes. */
export function makePayload(bytes = 100): { id: number; at: number; user: string; text: string } {
  const base = { id: 123456, at: 1_700_000_000_000, user: 'bench-user-01', text: '' };
  const fill = Math.max(0, bytes - JSON.stringify(base).length);
  return { ...base, text: 'x'.repeat(fill) };
}
