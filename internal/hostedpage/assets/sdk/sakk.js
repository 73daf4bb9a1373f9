/*! sakk browser SDK v1 — served by sakk at /sdk/v1/sakk.js.
 *
 *   window.PaymentCallback = function (response) { ... };
 *   AlyaPay.Payments.init({ session_token: '...', locale: 'en', mode: 'overlay' });
 *
 * window.Sakk is the same object as window.AlyaPay. init opens sakk's hosted
 * checkout for the session in an overlay (an iframe over the page) or, with
 * mode: 'popup' (or where an overlay cannot be shown), a popup window, and
 * reports to window.PaymentCallback:
 *   {event: 'payment_flow_completed', transaction_id, flow_event: 'payment_success'|'payment_failed', reason: null}
 *   {event: 'payment_flow_cancelled', reason: 'overlay_close'|'popup_closed'|'user_cancelled'}
 * An event proves nothing: the merchant's backend must check the payment's
 * status before shipping.
 *
 * Messages are accepted only from sakk's origin (the origin this script was
 * loaded from) and only from the checkout window this SDK opened; the SDK
 * tells the page the merchant's origin, and the page posts to no other.
 */
(function (window, document) {
  'use strict';

  var script = document.currentScript || (function () {
    var all = document.getElementsByTagName('script');
    for (var i = all.length - 1; i >= 0; i--) {
      if (/\/sdk\/v1\/sakk\.js(\?|#|$)/.test(all[i].src)) return all[i];
    }
    return null;
  })();
  if (!script || !script.src) {
    throw new Error('sakk: load the SDK with <script src="https://YOUR-SAKK/sdk/v1/sakk.js">');
  }
  var sakkOrigin = new URL(script.src, window.location.href).origin;

  var flow = null; // the checkout being shown: {mode, overlay, frame, popup, timer, done}

  function emit(response) {
    var cb = window.PaymentCallback;
    if (typeof cb !== 'function') return;
    try {
      cb(response);
    } catch (e) {
      window.setTimeout(function () { throw e; }, 0); // report, but never break the SDK
    }
  }

  function checkoutWindow(f) {
    if (!f) return null;
    if (f.popup) return f.popup;
    return f.frame ? f.frame.contentWindow : null;
  }

  function sendInit(f) {
    var w = checkoutWindow(f);
    if (!w) return;
    try {
      // Delivered only while the window shows sakk's origin.
      w.postMessage({ type: 'sakk:init', version: 1 }, sakkOrigin);
    } catch (e) { /* closed meanwhile */ }
  }

  function teardown(f) {
    if (!f || f.closed) return;
    f.closed = true;
    if (f.timer) window.clearInterval(f.timer);
    window.removeEventListener('message', f.onMessage);
    document.removeEventListener('keydown', f.onKey, true);
    if (f.overlay && f.overlay.parentNode) f.overlay.parentNode.removeChild(f.overlay);
    if (f.popup && !f.popup.closed) {
      try { f.popup.close(); } catch (e) { /* already gone */ }
    }
    if (f.restoreOverflow !== undefined) document.documentElement.style.overflow = f.restoreOverflow;
    if (f.restoreFocus && f.restoreFocus.focus) {
      try { f.restoreFocus.focus(); } catch (e) { /* gone */ }
    }
    if (flow === f) flow = null;
  }

  // finish ends the flow; cancelled, unless the page already reported an
  // outcome, reports why.
  function finish(f, reason) {
    if (!f || f.closed) return;
    var report = !f.done;
    f.done = true;
    teardown(f);
    if (report && reason) emit({ event: 'payment_flow_cancelled', reason: reason });
  }

  function onMessage(f, e) {
    if (e.origin !== sakkOrigin) return;
    var w = checkoutWindow(f);
    if (!w || e.source !== w) return;
    var m = e.data;
    if (!m || typeof m !== 'object') return;
    switch (m.type) {
      case 'sakk:completed':
        if (f.done) return;
        f.done = true;
        emit({
          event: 'payment_flow_completed',
          transaction_id: typeof m.transaction_id === 'string' ? m.transaction_id : null,
          flow_event: m.flow_event === 'payment_success' ? 'payment_success' : 'payment_failed',
          reason: null
        });
        return;
      case 'sakk:cancel':
        finish(f, 'user_cancelled');
        return;
      case 'sakk:close':
        finish(f, 'user_cancelled');
        return;
    }
  }

  function checkoutURL(opts, mode) {
    var u = new URL('/checkout/' + encodeURIComponent(opts.session_token), sakkOrigin);
    if (opts.locale) u.searchParams.set('locale', String(opts.locale));
    u.searchParams.set('embed', mode);
    u.searchParams.set('origin', window.location.origin);
    return u.toString();
  }

  function openOverlay(f, opts) {
    var overlay = document.createElement('div');
    overlay.setAttribute('data-sakk-overlay', '');
    overlay.setAttribute('role', 'dialog');
    overlay.setAttribute('aria-modal', 'true');
    overlay.setAttribute('aria-label', 'Checkout');
    var s = overlay.style;
    s.position = 'fixed'; s.inset = '0'; s.zIndex = '2147483647';
    s.background = 'rgba(15, 23, 42, 0.55)';
    s.display = 'flex'; s.alignItems = 'center'; s.justifyContent = 'center';
    s.flexDirection = 'column';
    // Room above the checkout for the close button, which stays outside the
    // iframe: the page's own controls are never covered.
    s.padding = window.innerWidth > 520 ? '56px 24px 24px' : '52px 0 0';

    var box = document.createElement('div');
    var b = box.style;
    b.position = 'relative'; b.width = '100%'; b.maxWidth = '480px'; b.height = '100%'; b.maxHeight = '780px';
    b.borderRadius = window.innerWidth > 520 ? '14px' : '14px 14px 0 0'; b.overflow = 'hidden'; b.background = '#f6f8fb';
    b.boxShadow = '0 24px 64px rgba(0,0,0,.35)';

    var frame = document.createElement('iframe');
    frame.title = 'Checkout';
    frame.src = checkoutURL(opts, 'overlay');
    frame.setAttribute('allow', 'payment');
    var fs = frame.style;
    fs.border = '0'; fs.width = '100%'; fs.height = '100%'; fs.display = 'block';

    var close = document.createElement('button');
    close.type = 'button';
    close.setAttribute('data-sakk-close', '');
    close.setAttribute('aria-label', 'Close checkout');
    close.textContent = '\u00d7';
    var cs = close.style;
    cs.position = 'absolute'; cs.top = '8px'; cs.right = '12px'; cs.width = '36px'; cs.height = '36px';
    cs.border = '0'; cs.borderRadius = '999px'; cs.background = 'rgba(255,255,255,.92)'; cs.color = '#1a1f36';
    cs.fontSize = '22px'; cs.lineHeight = '36px'; cs.cursor = 'pointer'; cs.boxShadow = '0 1px 4px rgba(0,0,0,.25)';
    close.addEventListener('click', function () { finish(f, 'overlay_close'); });

    frame.addEventListener('load', function () { sendInit(f); });
    box.appendChild(frame);
    overlay.appendChild(close);
    overlay.appendChild(box);
    f.restoreOverflow = document.documentElement.style.overflow;
    document.documentElement.style.overflow = 'hidden';
    document.body.appendChild(overlay);
    f.overlay = overlay;
    f.frame = frame;
    f.onKey = function (e) {
      if (e.key === 'Escape' && !f.closed) { e.stopPropagation(); finish(f, 'overlay_close'); }
    };
    document.addEventListener('keydown', f.onKey, true);
    frame.focus();
  }

  function openPopup(f, opts) {
    var w = 480, h = 760;
    var left = Math.max(0, (window.screenX || 0) + ((window.outerWidth || w) - w) / 2);
    var top = Math.max(0, (window.screenY || 0) + ((window.outerHeight || h) - h) / 2);
    var popup = window.open(checkoutURL(opts, 'popup'), 'sakk_checkout',
      'popup=yes,width=' + w + ',height=' + h + ',left=' + Math.round(left) + ',top=' + Math.round(top));
    if (!popup) return false;
    f.popup = popup;
    f.onKey = function () {};
    // The popup may navigate (3-D Secure and back): the page is told who
    // opened it whenever it is on sakk's origin, and its closing is seen.
    f.timer = window.setInterval(function () {
      if (popup.closed) { finish(f, 'popup_closed'); return; }
      sendInit(f);
    }, 400);
    try { popup.focus(); } catch (e) { /* not allowed: fine */ }
    return true;
  }

  function init(opts) {
    opts = opts || {};
    if (!opts.session_token || typeof opts.session_token !== 'string') {
      throw new Error('sakk: init needs {session_token}');
    }
    if (flow) teardown(flow); // one checkout at a time; the old one is replaced silently
    var f = { done: false, closed: false, restoreFocus: document.activeElement };
    f.onMessage = function (e) { onMessage(f, e); };
    window.addEventListener('message', f.onMessage);
    flow = f;
    if (opts.mode === 'popup' && openPopup(f, opts)) return;
    openOverlay(f, opts);
  }

  var Payments = {
    init: init,
    /** close removes the checkout without reporting anything. */
    close: function () {
      if (flow) { flow.done = true; teardown(flow); }
    },
    version: '1'
  };
  var api = window.AlyaPay && typeof window.AlyaPay === 'object' ? window.AlyaPay : {};
  api.Payments = Payments;
  window.AlyaPay = api;
  window.Sakk = api;
})(window, document);
