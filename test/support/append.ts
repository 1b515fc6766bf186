import { isRefusal, type AppendEntry, type AppendOutcome, type Store } from '../../src/store/types.js';

/** `store.append` for tests that expect every entry appended: a refusal fails the test with its code. */
export async function appendOk(store: Pick<Store, 'append'>, entries: AppendEntry[]): Promise<AppendOutcome[]> {
  const results = await store.append(entries);
  return results.map((result) => {
    if (isRefusal(result)) throw new Error(`append refused: ${result.refused.code} ${result.refused.message}`);
    return result;
  });
}
