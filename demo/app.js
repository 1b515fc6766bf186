// The Holdfast demo page: plain ES module, no build step. It loads the client's browser bundle
// from the standalone server (/lib/browser → dist/browser, one file) and shows what the client
// does on a bad network.
import { HoldfastClient, connectionStatus, indexedDbOutbox } from '/lib/browser/holdfast-client.js';

const CHAT_TOPIC = 'chat:lobby';
const TYPING_TOPIC = 'typing:lobby';
const PRICES_TOPIC = 'prices';
const LOG_LIMIT = 50;
const MESSAGE_LIMIT = 500;

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

// ---------------------------------------------------------------------------------------------
// Event log: newest first, capped, text only (nothing from the network is parsed as HTML).

const logList = $('log');

function log(kind, text) {
  const line = document.createElement('li');
  line.className = `log-${kind}`;
  const time = document.createElement('time');
  time.textContent = new Date().toLocaleTimeString([], { hour12: false });
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.textContent = kind;
  const body = document.createElement('span');
  body.textContent = text;
  line.append(time, badge, body);
  logList.prepend(line);
  while (logList.children.length > LOG_LIMIT) logList.lastElementChild?.remove();
}

// ---------------------------------------------------------------------------------------------
// The client. The server tells the page its WebSocket path, so `holdfast serve --path` just works.

async function webSocketUrl() {
  let path = '/holdfast';
  try {
    const response = await fetch('/config.json', { cache: 'no-store' });
    if (response.ok) {
      const config = await response.json();
      if (typeof config.wsPath === 'string') path = config.wsPath;
    }
  } catch {
    // The default path is right for `holdfast serve` without --path.
  }
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
}

// Unsent chat messages survive a reload: they wait in IndexedDB until the server confirms them.
const outboxStorage = typeof indexedDB === 'undefined' ? undefined : indexedDbOutbox({ name: 'holdfast-demo' });
// `?retryDelay=ms` sets the first retry's bound (default 1 s), to watch a long backoff being cut
// short by the `online` event or by coming back to the tab.
const retryDelay = Number(new URLSearchParams(location.search).get('retryDelay'));
// autoConnect off: the first 'connecting' transition happens in the constructor otherwise, before
// any listener could see it.
const client = new HoldfastClient({
  url: await webSocketUrl(),
  autoConnect: false,
  outboxStorage,
  reconnect: retryDelay > 0 ? { initialDelay: retryDelay } : {},
});
// Handy for experiments from the browser console.
globalThis.holdfast = client;

// ---------------------------------------------------------------------------------------------
// Connection indicator, drawn from connectionStatus(): dot + state, a live countdown while
// waiting to retry, the attempt number, and after each open whether the session resumed and
// whether the chat's history came back complete.

const connection = $('connection');
const stateText = $('state-text');
const stateDetail = $('state-detail');

function describeClose(code, reason) {
  if (code === undefined) return '';
  return reason ? `closed ${code} (${reason})` : `closed ${code}`;
}

/** What the indicator calls the state: a loss after having been open is "reconnecting". */
function phaseOf(status) {
  if (status.state === 'connecting' && status.everOpen) return 'reconnecting';
  return status.state;
}

function renderStatus(status) {
  const phase = phaseOf(status);
  connection.dataset.state = status.state;
  connection.dataset.phase = phase;
  const details = [];
  switch (phase) {
    case 'idle':
      stateText.textContent = 'Idle';
      break;
    case 'connecting':
      stateText.textContent = 'Connecting…';
      break;
    case 'reconnecting':
      if (status.state === 'reconnecting' && status.retryAt !== undefined) {
        const seconds = Math.max(0, status.retryAt - Date.now()) / 1000;
        stateText.textContent = `Reconnecting in ${seconds.toFixed(1)} s`;
      } else {
        stateText.textContent = 'Reconnecting…';
      }
      break;
    case 'open':
      stateText.textContent = 'Connected';
      details.push(status.resumed ? 'session resumed' : 'new session');
      details.push(status.recovered === undefined ? 'checking history…' : status.recovered ? 'recovered everything' : 'history may have gaps');
      break;
    case 'offline':
      stateText.textContent = 'Offline';
      details.push('waiting for the network to come back');
      break;
    case 'closed':
      stateText.textContent = 'Closed';
      details.push(status.error?.code ?? '', 'reload to reconnect');
      break;
  }
  if (phase !== 'open' && status.attempt !== undefined) details.unshift(`attempt ${status.attempt}`);
  if (phase !== 'open' && status.lastClose !== undefined) details.push(describeClose(status.lastClose.code, status.lastClose.reason));
  if (client.pending > 0) details.push(`${client.pending} waiting to send`);
  stateDetail.textContent = details.filter(Boolean).join(' · ');
}

client.on('state', (change) => {
  const details = [];
  if (change.attempt !== undefined) details.push(`attempt ${change.attempt}`);
  if (change.delay !== undefined) details.push(`retry in ${Math.round(change.delay)} ms`);
  if (change.code !== undefined) details.push(describeClose(change.code, change.reason));
  if (change.final) details.push('final');
  log('state', `${change.oldState} → ${change.newState}${details.length ? ` · ${details.join(' · ')}` : ''}`);
});

client.on('open', ({ session, resumed }) => {
  log('open', `session ${short(session)} · ${resumed ? 'resumed (sends and acks continue)' : 'new session'}`);
});

client.on('disconnect', ({ code, reason, willReconnect }) => {
  log('disconnect', `${describeClose(code, reason)} · ${willReconnect ? 'will reconnect' : 'will not reconnect'}`);
});

client.on('error', (error) => {
  log('error', `${error.code}: ${error.message}`);
});

// A button to break the link on purpose, to watch the client reconnect and resume.
$('drop').addEventListener('click', () => {
  log('action', 'dropping the socket');
  client.dropConnection();
});

function short(id) {
  return typeof id === 'string' && id.length > 8 ? `${id.slice(0, 8)}…` : String(id);
}

// ---------------------------------------------------------------------------------------------
// Chat: reliable topic, read from the start. Own messages show pending until the server has stored
// them (the publish promise resolves on its ack), including messages written while offline.

const ADJECTIVES = ['Brave', 'Calm', 'Clever', 'Eager', 'Gentle', 'Jolly', 'Lucky', 'Mighty', 'Quiet', 'Swift', 'Witty', 'Zesty'];
const ANIMALS = ['Otter', 'Falcon', 'Badger', 'Heron', 'Lynx', 'Panda', 'Marten', 'Puffin', 'Gecko', 'Walrus', 'Koala', 'Ibis'];
const pick = (list) => list[Math.floor(Math.random() * list.length)];

const nameInput = /** @type {HTMLInputElement} */ ($('name'));
nameInput.value = `${pick(ADJECTIVES)} ${pick(ANIMALS)}`;
const textInput = /** @type {HTMLInputElement} */ ($('text'));
const messageList = $('messages');
/** id → <li> of messages shown, so the echo of an own message updates it instead of doubling it. */
const shown = new Map();
/** A per-page id, so the page can ignore its own typing hints. */
const pageId = randomId();

function randomId() {
  // crypto.randomUUID exists only in secure contexts; a LAN address over http is not one.
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

function isChatMessage(data) {
  return (
    typeof data === 'object' && data !== null &&
    // id is optional: a backend posting through POST /api/publish need not invent one
    (data.id === undefined || typeof data.id === 'string') && typeof data.name === 'string' && typeof data.text === 'string'
  );
}

function nearBottom() {
  return messageList.scrollHeight - messageList.scrollTop - messageList.clientHeight < 60;
}

function addMessage(message, { mine, status = undefined }) {
  const stick = nearBottom() || mine;
  const item = document.createElement('li');
  item.className = mine ? 'msg mine' : 'msg';
  const meta = document.createElement('div');
  meta.className = 'meta';
  const who = document.createElement('span');
  who.className = 'who';
  who.textContent = message.name.slice(0, 24) || 'anonymous';
  const when = document.createElement('time');
  when.textContent = typeof message.at === 'number' ? new Date(message.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
  meta.append(who, when);
  const text = document.createElement('p');
  text.className = 'text';
  text.textContent = message.text.slice(0, 500);
  item.append(meta, text);
  if (status !== undefined) {
    const mark = document.createElement('span');
    mark.className = 'status';
    item.append(mark);
    setStatus(item, status);
  }
  messageList.append(item);
  if (message.id !== undefined) shown.set(message.id, item);
  while (messageList.children.length > MESSAGE_LIMIT) {
    const first = messageList.firstElementChild;
    for (const [id, element] of shown) if (element === first) shown.delete(id);
    first?.remove();
  }
  if (stick) messageList.scrollTop = messageList.scrollHeight;
  return item;
}

function setStatus(item, status, detail) {
  const mark = item.querySelector('.status');
  if (mark === null) return;
  item.dataset.status = status;
  if (status === 'pending') {
    mark.textContent = '… pending';
    mark.title = 'Waiting for the server to store it; kept and resent across reconnects';
  } else if (status === 'delivered') {
    mark.textContent = '✓ delivered';
    mark.title = 'The server acknowledged it';
  } else {
    mark.textContent = `✗ ${detail ?? 'failed'}`;
    mark.title = 'The server refused it, or the client was closed';
  }
}

const chat = client.subscribe(
  CHAT_TOPIC,
  (data, { offset }) => {
    if (!isChatMessage(data)) return; // any client may publish here; show only well-formed messages
    const item = shown.get(data.id);
    if (item !== undefined) {
      item.dataset.offset = String(offset ?? '');
      return; // our own message, already on screen with its status
    }
    addMessage(data, { mine: false }).dataset.offset = String(offset ?? '');
  },
  { from: 'start' },
);

// The indicator follows the client, and the chat's recovery after every open.
const status = connectionStatus(client, { subscriptions: [chat] });
status.subscribe(renderStatus);
globalThis.holdfastStatus = status; // for the console, and for the end-to-end tests
// The countdown and the count of unsent messages move between status changes.
setInterval(() => renderStatus(status.getSnapshot()), 200);

$('send').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = textInput.value.trim();
  if (text === '') return;
  const message = { id: randomId(), name: nameInput.value.trim() || 'anonymous', text, at: Date.now() };
  textInput.value = '';
  const item = addMessage(message, { mine: true, status: 'pending' });
  const sent = client.publish(CHAT_TOPIC, message);
  renderStatus(status.getSnapshot()); // the count of unsent messages, at once
  sent.then(
    () => setStatus(item, 'delivered'),
    (error) => {
      setStatus(item, 'failed', error.code);
      log('error', `publish: ${error.code}: ${error.message}`);
    },
  );
});

// Typing hints: a volatile topic. Fire-and-forget, nothing stored, lost while offline by design.
const typingLine = $('typing');
const typers = new Map();
let lastTypingSent = 0;

textInput.addEventListener('input', () => {
  const now = Date.now();
  if (textInput.value === '' || now - lastTypingSent < 1500) return;
  lastTypingSent = now;
  client.publish(TYPING_TOPIC, { from: pageId, name: nameInput.value.trim() || 'anonymous' }, { reliable: false }).catch(() => {});
});

const typing = client.subscribe(TYPING_TOPIC, (data) => {
  if (typeof data !== 'object' || data === null || data.from === pageId || typeof data.name !== 'string') return;
  typers.set(data.name.slice(0, 24), Date.now() + 3000);
  showTypers();
});

function showTypers() {
  const now = Date.now();
  for (const [name, until] of typers) if (until <= now) typers.delete(name);
  const names = [...typers.keys()];
  typingLine.textContent =
    names.length === 0 ? '' : names.length === 1 ? `${names[0]} is typing…` : `${names.slice(0, 3).join(', ')} are typing…`;
}
setInterval(showTypers, 500);

// ---------------------------------------------------------------------------------------------
// Price board: a latest topic. A new subscriber gets the newest price of every symbol, then each
// change; rows flash green or red with the direction of the move.

const board = $('board');
const boardEmpty = $('board-empty');
const rows = new Map();
const priceFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function priceRow(symbol) {
  let row = rows.get(symbol);
  if (row !== undefined) return row;
  const tr = document.createElement('tr');
  const name = document.createElement('th');
  name.scope = 'row';
  name.textContent = symbol;
  const price = document.createElement('td');
  price.className = 'num';
  const change = document.createElement('td');
  change.className = 'num change';
  tr.append(name, price, change);
  row = { tr, price, change };
  rows.set(symbol, row);
  // Keep the rows in alphabetical order.
  const after = [...rows.keys()].sort().find((other) => other > symbol);
  board.insertBefore(tr, after === undefined ? null : rows.get(after).tr);
  boardEmpty.hidden = true;
  return row;
}

const prices = client.subscribe(PRICES_TOPIC, (data) => {
  if (typeof data !== 'object' || data === null || typeof data.symbol !== 'string' || !Number.isFinite(data.price)) return;
  const change = Number.isFinite(data.change) ? data.change : 0;
  const row = priceRow(data.symbol.slice(0, 12));
  row.price.textContent = priceFormat.format(data.price);
  const previous = data.price - change;
  const percent = previous === 0 ? 0 : (change / previous) * 100;
  row.change.textContent = `${change > 0 ? '+' : ''}${priceFormat.format(change)} (${percent > 0 ? '+' : ''}${percent.toFixed(2)} %)`;
  row.change.dataset.direction = change > 0 ? 'up' : change < 0 ? 'down' : 'flat';
  if (change !== 0) {
    row.tr.classList.remove('flash-up', 'flash-down');
    void row.tr.offsetWidth; // restart the animation when the same direction repeats
    row.tr.classList.add(change > 0 ? 'flash-up' : 'flash-down');
  }
});

// Every subscription reports its (re)subscribe outcome to the log.
for (const subscription of [chat, typing, prices]) {
  subscription.on('subscribed', (info) => {
    const position = info.mode === 'volatile' ? '' : ` after #${info.offset} · epoch ${short(info.epoch)}`;
    const recovery = info.recovering ? ` · recovered ${info.recovered ? 'everything' : 'NOT everything'}` : '';
    const snapshot = 'snapshot' in info ? ' · snapshot' : '';
    log('subscribed', `${subscription.topic} (${info.mode})${position}${recovery}${snapshot}${info.resubscribe ? ' · again after reconnect' : ''}`);
  });
  subscription.on('error', (error) => log('error', `${subscription.topic}: ${error.code}: ${error.message}`));
}

client.connect();
