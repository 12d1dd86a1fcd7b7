// Runs the example page's chat as a browser would, in Node: loads the page from instance A (its chat script,
// with a stand-in DOM and localStorage), sends PROMPT, and "reloads" the page on instance B after DROP_MS (the
// first page's requests are aborted and its script stops writing, as a reload does; localStorage survives it).
// The reloaded page resumes the answer with `GET /api/chat/{id}/stream`, as useChat({ resume: true }) does on
// mount. Prints one JSON object: what the first page showed after its load, the log line the reloaded page
// shows and the text of the answer it ends with.
//
// Usage: node page-chat.mjs A_URL B_URL PROMPT [DROP_MS]
import vm from 'node:vm';

const [a, b, prompt, dropMs = '500'] = process.argv.slice(2);
const html = await (await fetch(a + '/')).text();
const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1]);
const chatScript = scripts.find((script) => script.includes('/api/chat'));
if (!chatScript) throw new Error('the page has no chat script');

function element() {
  return {
    value: '', textContent: '',
    appendChild(child) { this.textContent += child.textContent + '\n'; },
  };
}

// A page on `base` over `storage`; its requests end when `controller` aborts (a reload).
function openPage(base, storage, controller) {
  const elements = {};
  const byId = (id) => (elements[id] ??= element());
  const context = {
    document: { getElementById: byId, createElement: () => element() },
    localStorage: storage,
    fetch: (url, options = {}) => fetch(base + url, { ...options, signal: controller.signal }),
    TextDecoderStream, JSON, Math, Date, console,
  };
  // The elements the script reaches by id, as browsers expose them.
  for (const id of ['chatId', 'chatInput', 'chat', 'chatLog']) context[id] = byId(id);
  vm.createContext(context);
  vm.runInContext(chatScript, context);
  return { context, log: byId('chatLog') };
}

// localStorage as one page sees it: after a reload, the old page's writes go nowhere (its script is gone).
function storageOfOnePage(shared) {
  let isLoaded = true;
  const view = new Proxy({}, {
    get: (_, key) => shared[key],
    set: (_, key, value) => { if (isLoaded) shared[key] = value; return true; },
  });
  return { view, unload() { isLoaded = false; } };
}

process.on('unhandledRejection', () => {}); // the aborted page's reads
const storage = {};
const reload = new AbortController();
const firstPage = storageOfOnePage(storage);
const sending = openPage(a, firstPage.view, reload);
// Its load finds nothing to resume (204) before the message goes out.
await new Promise((resolve) => setTimeout(resolve, 300));
const firstLog = sending.log.textContent;
sending.context.chatInput.value = prompt;
vm.runInContext('send()', sending.context);
await new Promise((resolve) => setTimeout(resolve, Number(dropMs)));
reload.abort();
firstPage.unload();

const reloaded = openPage(b, storage, new AbortController());
const deadline = Date.now() + 20000;
while (!/answer complete|error|stopped/.test(reloaded.log.textContent) && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const messages = JSON.parse(storage['messages:' + storage.chatId] ?? '[]');
const answer = messages.filter((message) => message.role === 'assistant').map((message) => message.parts[0].text).pop() ?? '';
console.log(JSON.stringify({ loadLog: firstLog, log: reloaded.log.textContent, answer }));
