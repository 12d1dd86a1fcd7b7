/// The page at `/`: a stream id, buttons to stream, drop the connection and stop, and an `EventSource` that
/// resumes by itself (with `?resumeAt=` after a drop by the button, `Last-Event-ID` after a lost connection)
/// and closes on the `end` and `failed` events.
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
        """
}
