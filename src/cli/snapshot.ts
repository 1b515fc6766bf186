import type { TopicOptions } from '../server/options.js';
import type { Store } from '../store/types.js';

/**
 * The config file's `snapshot: "latest"`: a subscriber whose position can no longer be recovered
 * gets the topic's newest message as its snapshot, then what follows, instead of every retained
 * message. For topics whose every message is the whole state (a document, a scoreboard), that is
 * all a subscriber that fell behind needs.
 */
export function latestMessageSnapshot(store: Store): NonNullable<TopicOptions['snapshot']> {
  return async (topic) => {
    const { head, first } = await store.info(topic);
    // Nothing retained: no snapshot, and the subscriber starts with the next message.
    if (head < first) return undefined;
    const { messages } = await store.read(topic, head - 1, 1);
    return messages.at(-1)?.data;
  };
}
