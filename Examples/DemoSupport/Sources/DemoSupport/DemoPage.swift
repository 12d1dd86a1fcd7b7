/// The page at `/`: a stream id, buttons to stream, drop the connection and stop, and an `EventSource` that
/// resumes by itself (with `?resumeAt=` after a drop by the button, `Last-Event-ID` after a lost connection)
/// and closes on the `end` and `failed` events; and a chat that talks to the `/api/chat` routes as the AI SDK's
/// `DefaultChatTransport` does (`POST`, then on load `GET /api/chat/{id}/stream`), so that a reload mid-answer
/// resumes the answer, from any instance.
enum DemoPage {
    /// The page's HTML.
    static let html = """
        <!doctype html>
        <meta charset="utf-8">
        <title>swift-resumable-stream</title>
        <style>body{font:16px system-ui;max-width:46em;margin:2em auto} #out{white-space:pre-wrap;border:1px solid #ccc;padding:1em;min-height:6em} #log{white-space:pre-wrap;color:#666;font-size:13px}</style>
        <h1>Resumable stream</h1>
        <p>Stream id <input id="id" value="demo"> <button onclick="start()">Stream</button>
        <button onclick="es && es.close(); log('closed by you: press Stream to resume')">Drop connection</button>
        <button onclick="fetch('/streams/'+encodeURIComponent(id.value),{method:'DELETE'})">Stop</button></p>
        <div id="out"></div><div id="log"></div>
        <script>
        let es, received = 0, streamId = null;
        const logBox = document.getElementById('log');
        function log(m){ logBox.textContent += m + '\\n' }
        function start(){
          if (es) es.close();
          // Another stream starts from nothing; the same one resumes where it stopped.
          if (id.value !== streamId) { streamId = id.value; received = 0; out.textContent = ''; logBox.textContent = '' }
          const url = '/streams/' + encodeURIComponent(streamId) + '?resumeAt=' + received;
          es = new EventSource(url);
          es.onopen = () => log('connected (resuming at ' + received + ')');
          es.onmessage = e => { out.textContent += JSON.parse(e.data); received = Number(e.lastEventId) };
          es.addEventListener('end', () => { es.close(); log('done: the stream ended (' + received + ' characters)') });
          es.addEventListener('stopped', () => { es.close(); log('stopped after ' + received + ' characters') });
          es.addEventListener('failed', e => { es.close(); log('failed (' + JSON.parse(e.data) + ') after ' + received + ' characters') });
          es.onerror = () => {
            if (es.readyState === EventSource.CLOSED) log('closed: the server answered with an error (already done without a retained text, or no such stream)');
            else log('connection lost: the browser reconnects with Last-Event-ID ' + received);
          };
        }
        </script>
        <h1>Resumable chat</h1>
        <p>As the AI SDK's <code>useChat({ resume: true })</code> does it: reload the page mid-answer, or open it on
        another instance, and the answer resumes. Chat id <input id="chatId"> <button onclick="newChat()">New chat</button></p>
        <div id="chat"></div>
        <p><input id="chatInput" size="50" placeholder="Your message"> <button onclick="send()">Send</button>
        <button onclick="fetch('/api/chat/'+encodeURIComponent(chatId.value)+'/stop',{method:'POST'})">Stop</button></p>
        <div id="chatLog"></div>
        <script>
        const chatBox = document.getElementById('chat'), chatLog = document.getElementById('chatLog');
        chatId.value = localStorage.chatId || (localStorage.chatId = 'chat-' + Math.random().toString(36).slice(2, 10));
        let messages = JSON.parse(localStorage['messages:' + chatId.value] || '[]');
        function newChat(){ localStorage.chatId = chatId.value = 'chat-' + Math.random().toString(36).slice(2, 10); messages = []; render() }
        function save(){ localStorage['messages:' + chatId.value] = JSON.stringify(messages) }
        function render(partial){
          chatBox.textContent = '';
          for (const m of messages.concat(partial ? [partial] : [])) {
            const p = document.createElement('p');
            p.textContent = (m.role === 'user' ? 'You: ' : 'Answer: ') + m.parts.map(part => part.text).join('');
            chatBox.appendChild(p);
          }
        }
        // Reads a UI message stream: `data: <chunk>` events, then `data: [DONE]`.
        async function readAnswer(response){
          const answer = {id: '', role: 'assistant', parts: [{type: 'text', text: ''}]};
          let ending = 'answer complete';
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          reading: for (;;) {
            const {value, done} = await reader.read();
            if (done) break;
            buffer += value;
            let end;
            while ((end = buffer.indexOf('\\n\\n')) >= 0) {
              const event = buffer.slice(0, end); buffer = buffer.slice(end + 2);
              if (!event.startsWith('data: ')) continue;
              const data = event.slice(6);
              if (data === '[DONE]') { chatLog.textContent = ending; break reading }
              const chunk = JSON.parse(data);
              if (chunk.type === 'start') answer.id = chunk.messageId;
              if (chunk.type === 'text-delta') answer.parts[0].text += chunk.delta;
              if (chunk.type === 'error') ending = 'error: ' + chunk.errorText;
              if (chunk.type === 'abort') ending = 'stopped';
              render(answer);
            }
          }
          messages.push(answer); save(); render();
        }
        async function send(){
          const text = chatInput.value; chatInput.value = "";
          messages.push({id: 'u' + Date.now(), role: 'user', parts: [{type: 'text', text}]}); save(); render();
          chatLog.textContent = 'answering…';
          const response = await fetch('/api/chat', {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({id: chatId.value, messages, trigger: 'submit-message'})});
          if (response.ok) await readAnswer(response); else chatLog.textContent = 'error: HTTP ' + response.status;
        }
        // On load, as useChat({ resume: true }): 204 is nothing to resume, 200 the answer from its start.
        (async () => {
          render();
          const response = await fetch('/api/chat/' + encodeURIComponent(chatId.value) + '/stream');
          if (response.status === 200) { chatLog.textContent = 'resuming the answer in progress…'; await readAnswer(response) }
          else if (response.status !== 204) chatLog.textContent = 'error: HTTP ' + response.status;
        })();
        </script>
        """
}
