// Added to every frame before any page script (pages.isolate_context): connections that bypass request routing
// (WebSocket, WebRTC, WebTransport) and beacons to other origins throw and are reported on the console with the
// mark pages.BLOCK_MARK; timers, fetches and XHRs are counted in window.__runshotActivity for the settle wait.

(() => {
  const MARK = "__runshot_blocked__ ";
  const warn = console.warn.bind(console);
  const report = (kind, url) => {
    try { warn(MARK + JSON.stringify({ kind: kind, url: String(url) })); } catch (e) {}
  };
  const sameOrigin = (url) => {
    try {
      const u = new URL(String(url), location.href);
      if (u.protocol === "data:" || u.protocol === "blob:") return true;
      const proto = u.protocol === "ws:" ? "http:" : u.protocol === "wss:" ? "https:" : u.protocol;
      return proto + "//" + u.host === self.origin;
    } catch (e) {
      return false;
    }
  };
  const blocked = (what, url) =>
    new DOMException(what + " to " + url + " was blocked: the app must work offline, using only its own files",
                     "SecurityError");
  const define = (obj, name, value) => {
    try { Object.defineProperty(obj, name, { value: value, writable: true, configurable: true }); } catch (e) {}
  };
  const guardConstructor = (name, kind) => {
    const Native = self[name];
    if (typeof Native !== "function") return;
    const Guard = function (url) {
      if (!new.target) throw new TypeError("Failed to construct '" + name + "': Please use the 'new' operator");
      if (!sameOrigin(url)) { report(kind, url); throw blocked(name, url); }
      return Reflect.construct(Native, Array.from(arguments), new.target);
    };
    Guard.prototype = Native.prototype;
    for (const key of ["CONNECTING", "OPEN", "CLOSING", "CLOSED"]) if (key in Native) define(Guard, key, Native[key]);
    define(Guard, "name", name);
    define(self, name, Guard);
  };
  const removeConstructor = (name, kind) => {
    if (!(name in self)) return;
    const Stub = function (arg) {
      let url = "";
      try {
        const servers = arg && arg.iceServers;
        url = servers && servers.length ? [].concat(servers[0].urls || servers[0].url || "")[0] : String(arg || "");
      } catch (e) {}
      report(kind, url || name);
      throw new DOMException(name + " is disabled: the app must work offline, using only its own files",
                             "NotSupportedError");
    };
    define(self, name, Stub);
  };
  const scrub = (win) => {
    try {
      if (!win || win.__runshotGuarded) return;
      define(win, "__runshotGuarded", true);
      for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "WebTransport"]) {
        if (name in win) define(win, name, self[name]);
      }
      for (const name of ["WebSocket", "EventSource"]) if (name in win) define(win, name, self[name]);
    } catch (e) {}
  };
  guardConstructor("WebSocket", "websocket");
  guardConstructor("EventSource", "eventsource");
  removeConstructor("RTCPeerConnection", "webrtc");
  removeConstructor("webkitRTCPeerConnection", "webrtc");
  removeConstructor("WebTransport", "webtransport");
  define(self, "__runshotGuarded", true);
  if (self.Navigator && Navigator.prototype.sendBeacon) {
    const nativeBeacon = Navigator.prototype.sendBeacon;
    define(Navigator.prototype, "sendBeacon", function sendBeacon(url, data) {
      if (!sameOrigin(url)) { report("beacon", url); return false; }
      return nativeBeacon.call(this, url, data);
    });
  }
  // Same-origin child windows share our realm's reach: guard them as soon as the page can touch them.
  const wrapGetter = (proto, prop, toWindow) => {
    const desc = proto && Object.getOwnPropertyDescriptor(proto, prop);
    if (!desc || !desc.get) return;
    Object.defineProperty(proto, prop, {
      configurable: true, enumerable: desc.enumerable,
      get: function () { const v = desc.get.call(this); scrub(toWindow(v)); return v; },
    });
  };
  for (const P of [self.HTMLIFrameElement, self.HTMLFrameElement, self.HTMLObjectElement]) {
    if (!P) continue;
    wrapGetter(P.prototype, "contentWindow", (w) => w);
    wrapGetter(P.prototype, "contentDocument", (d) => d && d.defaultView);
  }
  if (typeof self.open === "function") {
    const nativeOpen = self.open;
    define(self, "open", function open() { const w = nativeOpen.apply(this, arguments); scrub(w); return w; });
  }
  // What the page still has pending (timers and when they fire, fetches and XHRs in flight), so that waiting
  // for it to settle after an interaction ends when its work is done instead of after a fixed quiet time.
  if (typeof window === "object" && self === window && !self.__runshotActivity) {
    const nativeSet = self.setTimeout, nativeClear = self.clearTimeout, nativeClearInterval = self.clearInterval;
    const act = { timers: new Map(), requests: 0, setTimeout: nativeSet.bind(self) };  // the wait's own timer
    define(self, "__runshotActivity", act);
    define(self, "setTimeout", function setTimeout(handler, ms) {
      if (typeof handler !== "function") return nativeSet.apply(self, arguments);
      const args = Array.prototype.slice.call(arguments, 2);
      const delay = Math.max(0, Number(ms) || 0);
      const id = nativeSet.call(self, function () { act.timers.delete(id); return handler.apply(this, args); }, delay);
      act.timers.set(id, performance.now() + delay);
      return id;
    });
    define(self, "clearTimeout", function clearTimeout(id) { act.timers.delete(id); return nativeClear.call(self, id); });
    define(self, "clearInterval", function clearInterval(id) {
      act.timers.delete(id);
      return nativeClearInterval.call(self, id);
    });
    const done = () => { act.requests = Math.max(0, act.requests - 1); };
    if (typeof self.fetch === "function") {
      const nativeFetch = self.fetch;
      define(self, "fetch", function fetch() {
        act.requests += 1;
        let promise;
        try { promise = nativeFetch.apply(this, arguments); } catch (e) { done(); throw e; }
        Promise.resolve(promise).then(done, done);
        return promise;
      });
    }
    if (self.XMLHttpRequest) {
      const nativeSend = XMLHttpRequest.prototype.send;
      define(XMLHttpRequest.prototype, "send", function send() {
        act.requests += 1;
        this.addEventListener("loadend", done, { once: true });
        try { return nativeSend.apply(this, arguments); } catch (e) { done(); throw e; }
      });
    }
  }
})();
