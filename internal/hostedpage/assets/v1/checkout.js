// sakk hosted checkout page. Served from sakk's own origin under a strict
// Content-Security-Policy: no inline script, and no third-party code but
// the card gateway's own tokenizer (Stripe.js) where the server chose it.
// It reads its data (tokens, texts, state, tokenizer) from the JSON block
// the server rendered.
(function () {
  'use strict';

  var data = JSON.parse(document.getElementById('sakk-data').textContent);
  var T = data.texts || {};
  var $ = function (id) { return document.getElementById(id); };

  // ---- storage: survives the navigation to 3-D Secure and back ----------
  var storage = (function () {
    try {
      var s = window.sessionStorage;
      s.setItem('sakk:probe', '1');
      s.removeItem('sakk:probe');
      return s;
    } catch (e) {
      return null;
    }
  })();
  function load(key) {
    if (!storage) return null;
    try { return JSON.parse(storage.getItem(key) || 'null'); } catch (e) { return null; }
  }
  function save(key, v) {
    if (!storage) return;
    try {
      if (v === null) storage.removeItem(key); else storage.setItem(key, JSON.stringify(v));
    } catch (e) { /* full or disabled: the page still works, without memory */ }
  }
  var vKey = 'sakk:verification:' + data.sessionId;
  var eKey = 'sakk:embed:' + data.sessionId;

  // ---- embedding: the SDK's overlay (iframe) or popup --------------------
  // The SDK opens the page with ?embed=overlay|popup&origin=<merchant origin>.
  // Messages go only to that origin, and only once the SDK has proved it is
  // there: its sakk:init message, from the window that embeds the page,
  // checked against that origin by the browser (event.origin).
  var embed = (function () {
    var q = new URLSearchParams(window.location.search);
    var mode = q.get('embed'), origin = q.get('origin');
    if ((mode === 'overlay' || mode === 'popup') && origin) {
      try {
        if (new URL(origin).origin === origin) {
          save(eKey, { mode: mode, origin: origin });
          return { mode: mode, origin: origin };
        }
      } catch (e) { /* not an origin: not embedded */ }
    }
    var stored = load(eKey);
    return stored && stored.mode && stored.origin ? stored : null;
  })();
  var host = null;
  if (embed) {
    if (embed.mode === 'popup' && window.opener && window.opener !== window) host = window.opener;
    if (embed.mode === 'overlay' && window.parent !== window) host = window.parent;
  }
  // A window this page opened for 3-D Secure or an off-site approval (see
  // followAction) shows the outcome briefly and closes: the overlay that
  // opened it reports to the merchant's page.
  var actionName = 'sakk_action_' + data.sessionId;
  var actionWindow = window.name === actionName && !!window.opener;
  if (actionWindow) host = null;
  var linked = false, outbox = [];
  window.addEventListener('message', function (e) {
    if (!host || e.source !== host || e.origin !== embed.origin) return;
    if (e.data && e.data.type === 'sakk:init') {
      linked = true;
      flush();
    }
  });
  function flush() {
    if (!linked) return;
    while (outbox.length) host.postMessage(outbox.shift(), embed.origin);
  }
  function tell(msg) {
    if (!host) return false;
    outbox.push(msg);
    flush();
    return true;
  }

  // ---- screens ------------------------------------------------------------
  var state = data.state;
  var current = null;
  function show(step, focusEl) {
    var steps = document.querySelectorAll('.step');
    for (var i = 0; i < steps.length; i++) steps[i].hidden = steps[i].id !== 'step-' + step;
    current = step;
    var el = focusEl || $('step-' + step).querySelector('.step-title');
    if (el) el.focus({ preventScroll: false });
  }
  function setError(id, text, input) {
    $(id).textContent = text || '';
    if (input) input.setAttribute('aria-invalid', text ? 'true' : 'false');
  }
  function busy(button, on) {
    if (!button) return;
    button.disabled = on;
    button.setAttribute('aria-busy', on ? 'true' : 'false');
  }
  function fill(text, key, value) { return String(text || '').split('{' + key + '}').join(value); }

  var lastPayment = data.paymentId || null;
  var verification = null; // {token, identifier, until}

  function result(kind, text) {
    state = kind;
    document.body.setAttribute('data-state', kind);
    $('result-title').textContent = T[kind + '_title'] || $('result-title').textContent || T.error_title;
    var r = $('result');
    r.textContent = text || T[kind] || '';
    r.setAttribute('data-state', kind);
    var ref = $('reference');
    if (kind === 'paid' && lastPayment) {
      ref.textContent = T.reference + ': ' + lastPayment;
      ref.hidden = false;
    } else {
      ref.hidden = true;
    }
    $('retry').hidden = kind !== 'failed';
    var back = $('back');
    back.textContent = kind === 'paid' && host ? T.done : T.back_to_shop;
    back.hidden = !(host || (kind === 'paid' && data.returnUrl) || (kind !== 'paid' && (data.cancelUrl || data.returnUrl)));
    closeButton();
    show('result', $('result-title'));
  }

  // The header's close control: in a popup, or standalone with a
  // cancelUrl. The SDK's overlay has its own, outside the frame.
  function closeButton() {
    var overlay = host && embed.mode === 'overlay';
    $('close').hidden = overlay || !(host || (data.cancelUrl && state !== 'paid'));
  }

  // withResult adds status and transaction_id to a merchant URL, as the
  // payment callback page does.
  function withResult(raw, status, txn) {
    try {
      var u = new URL(raw);
      if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
      u.searchParams.set('status', status);
      if (txn) u.searchParams.set('transaction_id', txn);
      return u.toString();
    } catch (e) {
      return null;
    }
  }

  function paid(paymentId) {
    if (paymentId) lastPayment = paymentId;
    save(vKey, null);
    result('paid');
    if (actionWindow) { window.setTimeout(function () { window.close(); }, 1200); return; }
    if (tell({ type: 'sakk:completed', flow_event: 'payment_success', transaction_id: lastPayment })) return;
    var next = data.returnUrl && withResult(data.returnUrl, 'SUCCESS', lastPayment);
    if (next) window.setTimeout(function () { window.location.assign(next); }, 1500);
  }

  function failed(err, paymentId) {
    if (paymentId) lastPayment = paymentId;
    var code = err && err.code;
    var text = (code && T[code]) || (err && err.message) || T.failed;
    result('failed', text);
    if (actionWindow) window.setTimeout(function () { window.close(); }, 1200);
  }

  // ---- API ---------------------------------------------------------------
  function call(path, token, body) {
    var headers = { 'Content-Type': 'application/json', 'Accept': 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    return fetch(path, {
      method: 'POST', headers: headers, body: JSON.stringify(body || {}),
      credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer'
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (b) {
        return { ok: res.ok, status: res.status, body: b, code: b && b.error && b.error.code };
      });
    }, function () {
      return { ok: false, status: 0, body: {}, code: 'network' };
    });
  }
  function apiError(res) {
    if (res.code === 'network') return T.err_network;
    if (res.code === 'rate_limit_exceeded') return T.err_rate;
    if (res.code === 'customer_mismatch') return T.err_mismatch;
    return (res.body && res.body.message) || T.err_generic;
  }
  function closedSession(res) {
    if (res.code === 'session_expired') { result('expired'); return true; }
    if (res.code === 'session_closed') { window.location.reload(); return true; }
    return false;
  }

  // ---- customer: email or phone, then the code ----------------------------
  var channels = data.channels || [];
  var identifier = '', method = '';
  (function labelIdentifier() {
    var email = channels.indexOf('email') >= 0, phone = channels.indexOf('phone') >= 0;
    var input = $('identifier');
    if (!input) return;
    if (email && !phone) { $('identifier-label').textContent = T.id_email; input.type = 'email'; $('identifier-hint').hidden = true; }
    if (phone && !email) { $('identifier-label').textContent = T.id_phone; input.type = 'tel'; input.inputMode = 'tel'; input.autocomplete = 'tel'; }
  })();

  function channelOf(value) {
    var v = value.trim();
    if (v.indexOf('@') >= 0) return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) ? 'email' : '';
    return /^\+?[0-9 ()\-.]{6,20}$/.test(v) ? 'phone' : '';
  }

  function sendCode(button, resend) {
    var errId = resend ? 'code-error' : 'identifier-error';
    busy(button, true);
    return call('/api/v1/checkout/verification/request', data.sdkToken, {
      method: method, identifier: identifier, sessionToken: data.sessionToken, locale: data.locale
    }).then(function (res) {
      busy(button, false);
      if (res.ok) {
        if (resend) {
          $('code-status').textContent = T.resent;
          setError('code-error', '');
        } else {
          $('code-sent').textContent = fill(T.code_sent, 'identifier', identifier);
          $('code').value = '';
          setError('code-error', '');
          $('code-status').textContent = '';
          show('code', $('code'));
        }
        return;
      }
      if (closedSession(res)) return;
      var msg = res.code === 'invalid_identifier' ? T.err_identifier : apiError(res);
      setError(errId, msg, resend ? null : $('identifier'));
      if (!resend) $('identifier').focus();
    });
  }

  if ($('customer-form')) {
    $('customer-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var input = $('identifier');
      var ch = channelOf(input.value);
      if (!ch || channels.indexOf(ch) < 0) {
        var only = channels.length === 1 ? (channels[0] === 'email' ? T.err_email_only : T.err_phone_only) : T.err_identifier;
        setError('identifier-error', only, input);
        input.focus();
        return;
      }
      setError('identifier-error', '', input);
      identifier = input.value.trim();
      method = ch === 'email' ? 'email_otp' : 'mobile_otp';
      sendCode(e.submitter || this.querySelector('button[type=submit]'), false);
    });
    $('code').addEventListener('input', function () {
      this.value = this.value.replace(/\D/g, '').slice(0, 6);
    });
    $('code-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var input = $('code');
      $('code-status').textContent = '';
      if (!/^\d{6}$/.test(input.value)) {
        setError('code-error', T.err_code_format, input);
        input.focus();
        return;
      }
      setError('code-error', '', input);
      var button = this.querySelector('button[type=submit]');
      busy(button, true);
      call('/api/v1/checkout/verification/verify', data.sdkToken, {
        method: method, identifier: identifier, code: input.value, sessionToken: data.sessionToken
      }).then(function (res) {
        busy(button, false);
        if (res.ok && res.body.verificationToken) {
          verification = {
            token: res.body.verificationToken, identifier: res.body.identifier || identifier,
            until: Date.now() + 4.5 * 60 * 1000
          };
          save(vKey, verification);
          toPayment();
          return;
        }
        if (closedSession(res)) return;
        input.value = '';
        setError('code-error', res.code === 'invalid_code' ? T.err_code : apiError(res), input);
        input.focus();
      });
    });
    $('resend').addEventListener('click', function () { sendCode(this, true); });
    $('change').addEventListener('click', function () {
      show('customer', $('identifier'));
    });
  }

  // ---- payment -----------------------------------------------------------
  function validVerification() {
    if (data.verificationToken) return { token: data.verificationToken, identifier: data.customer || '' };
    var v = verification || load(vKey);
    if (v && v.token && v.until > Date.now()) return v;
    save(vKey, null);
    return null;
  }

  function toPayment() {
    var v = validVerification();
    if (!v) { toCustomer(); return; }
    var as = $('paying-as');
    as.textContent = v.identifier ? fill(T.paying_as, 'identifier', v.identifier) : '';
    as.hidden = !v.identifier;
    setError('payment-error', '');
    state = 'pay';
    document.body.setAttribute('data-state', 'pay');
    closeButton();
    show('payment', $('card-name') || $('card-number') || null);
  }

  function toCustomer(message) {
    state = 'pay';
    document.body.setAttribute('data-state', 'pay');
    closeButton();
    if (data.locked) { window.location.reload(); return; }
    setError('identifier-error', message || '', $('identifier'));
    show('customer', $('identifier'));
  }

  function processing(text) {
    $('processing-text').textContent = text || T.processing;
    show('processing', $('processing-text'));
  }

  function process(body, button) {
    var v = validVerification();
    if (!v) { toCustomer(T.err_verification); return; }
    body.sessionToken = data.sessionToken;
    busy(button, true);
    processing();
    call('/api/v1/payments/process', v.token, body).then(function (res) {
      busy(button, false);
      if (!res.ok) {
        if (closedSession(res)) return;
        if (res.status === 401) { save(vKey, null); verification = null; toCustomer(T.err_verification); return; }
        show('payment');
        setError('payment-error', apiError(res));
        return;
      }
      handle(res.body);
    });
  }

  function handle(b) {
    switch (b.status) {
      case 'completed':
        paid(b.paymentId);
        return;
      case 'requires_action':
        if (b.redirectUrl) {
          // In the SDK's overlay the bank's or wallet's page opens in a
          // window of its own (such pages refuse to be framed); the
          // overlay follows the session until it is decided.
          if (host && embed.mode === 'overlay') {
            var w = window.open(b.redirectUrl, actionName, 'popup=yes,width=480,height=720');
            if (w) { followAction(w); return; }
          }
          processing(T.redirecting);
          window.location.assign(b.redirectUrl);
          return;
        }
        break;
      case 'failed':
        failed(b.error, b.paymentId);
        return;
    }
    // pending (or an action without a link): the server knows more soon.
    state = 'pending';
    processing(T.pending);
    window.setTimeout(function () { window.location.reload(); }, 2000);
  }

  // followAction watches the session while the shopper answers in the
  // action window, and reloads once it is decided: the server renders the
  // outcome (and its transaction id).
  function followAction(w) {
    processing(T.action_window);
    var closedOnce = false;
    var poll = function () {
      fetch('/api/v1/checkout/session/' + encodeURIComponent(data.sessionToken), {
        headers: { 'Authorization': 'Bearer ' + data.sdkToken, 'Accept': 'application/json' },
        credentials: 'omit', cache: 'no-store'
      }).then(function (res) { return res.json(); }).then(function (b) {
        if (b.status && b.status !== 'pending' && b.status !== 'requires_action' && b.status !== 'init') {
          window.location.reload();
          return;
        }
        if (w.closed) {
          if (closedOnce) { toPayment(); setError('payment-error', T.action_closed); return; }
          closedOnce = true;
        }
        window.setTimeout(poll, 1500);
      }, function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 1500);
  }

  // How cards become tokens (data.card, decided by the server): the
  // sandbox simulator's tokenizer for simulated gateways, else the
  // gateway's own: Stripe.js's card Element, whose fields live in Stripe's
  // frame, or Moyasar's tokens API, called with the account's publishable
  // key. Either way the card goes to the tokenizer only, and
  // payments/process sees the token alone.
  var card = data.card || { gateway: data.gateways.card, tokenizer: 'sandbox' };
  var stripeCard = null, stripe = null;
  if ($('card-form') && card.tokenizer === 'stripe' && typeof window.Stripe === 'function') {
    try {
      stripe = window.Stripe(card.publishableKey);
      stripeCard = stripe.elements({ locale: data.locale }).create('card');
      stripeCard.mount('#card-element');
    } catch (e) {
      stripe = null; // reported when the shopper presses Pay
    }
  }

  function payWithToken(token, button) {
    process({ method: 'card', gateway: card.gateway, methodPayload: { tempPaymentToken: token } }, button);
  }

  function stripeToken(button) {
    if (!stripe) { setError('payment-error', T.err_tokenizer); return; }
    setError('card-element-error', '');
    $('card-element').removeAttribute('aria-invalid');
    busy(button, true);
    stripe.createPaymentMethod({ type: 'card', card: stripeCard }).then(function (r) {
      busy(button, false);
      if (r && r.paymentMethod && r.paymentMethod.id) { payWithToken(r.paymentMethod.id, button); return; }
      var err = (r && r.error) || {};
      // Stripe words card and validation errors in the Element's locale.
      var text = err.type === 'card_error' || err.type === 'validation_error' ? err.message : (T[err.code] || T.err_generic);
      setError('card-element-error', text || T.err_generic);
      $('card-element').setAttribute('aria-invalid', 'true');
      if (stripeCard.focus) stripeCard.focus();
    }, function () {
      busy(button, false);
      setError('payment-error', T.err_network);
    });
  }

  function moyasarToken(c, button) {
    busy(button, true);
    fetch(card.url + '/v1/tokens', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'Authorization': 'Basic ' + window.btoa(card.publishableKey + ':') },
      // save_only: the token is for this payment, whose own 3-D Secure
      // verifies the card; no separate verification of the token.
      body: JSON.stringify({ name: c.name, number: c.number, month: String(c.month), year: String(c.year), cvc: c.cvc, save_only: true }),
      credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer'
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (b) { return { ok: res.ok, body: b || {} }; });
    }, function () {
      return { ok: false, network: true, body: {} };
    }).then(function (res) {
      busy(button, false);
      if (res.ok && res.body.id) { payWithToken(res.body.id, button); return; }
      if (res.network) { setError('payment-error', T.err_network); return; }
      // Moyasar's validation errors name the fields at fault.
      var errs = res.body.errors || {}, first = null;
      [['name', 'card-name-error', $('card-name'), T.err_card_name], ['number', 'card-number-error', $('card-number'), T.err_card_number],
        ['month', 'card-expiry-error', $('card-expiry'), T.err_card_expiry], ['year', 'card-expiry-error', $('card-expiry'), T.err_card_expiry],
        ['cvc', 'card-cvc-error', $('card-cvc'), T.err_card_cvc]].forEach(function (f) {
        if (errs[f[0]] && f[2]) { setError(f[1], f[3], f[2]); if (!first) first = f[2]; }
      });
      if (first) { first.focus(); return; }
      setError('payment-error', res.body.message || T.err_generic);
    });
  }

  // Card fields: format as typed, check before tokenizing.
  function digits(s) { return String(s || '').replace(/\D/g, ''); }
  function luhn(n) {
    var sum = 0, alt = false;
    for (var i = n.length - 1; i >= 0; i--) {
      var d = n.charCodeAt(i) - 48;
      if (alt) { d *= 2; if (d > 9) d -= 9; }
      sum += d;
      alt = !alt;
    }
    return sum % 10 === 0;
  }
  // cardFields checks the card step's own fields and returns the card, or
  // null after marking what is wrong.
  function cardFields() {
    var name = $('card-name'), num = $('card-number'), exp = $('card-expiry'), cvc = $('card-cvc');
    var n = digits(num.value), ed = digits(exp.value), c = digits(cvc.value);
    var month = parseInt(ed.slice(0, 2), 10), year = parseInt(ed.slice(2), 10);
    var now = new Date(), first = null;
    var bad = function (input, errId, text) {
      setError(errId, text, input);
      if (text && !first) first = input;
    };
    if (name) bad(name, 'card-name-error', /\S+\s+\S+/.test(name.value) ? '' : T.err_card_name);
    bad(num, 'card-number-error', n.length >= 12 && n.length <= 19 && luhn(n) ? '' : T.err_card_number);
    var expText = '';
    if (ed.length !== 4 || !(month >= 1 && month <= 12)) expText = T.err_card_expiry;
    else if (2000 + year < now.getFullYear() || (2000 + year === now.getFullYear() && month < now.getMonth() + 1)) expText = T.err_card_expired;
    bad(exp, 'card-expiry-error', expText);
    bad(cvc, 'card-cvc-error', c.length >= 3 && c.length <= 4 ? '' : T.err_card_cvc);
    if (first) { first.focus(); return null; }
    return { name: name ? name.value.trim() : '', number: n, month: month, year: 2000 + year, cvc: c };
  }

  if ($('card-number')) {
    $('card-number').addEventListener('input', function () {
      var d = digits(this.value).slice(0, 19);
      this.value = d.replace(/(\d{4})(?=\d)/g, '$1 ');
    });
    $('card-expiry').addEventListener('input', function (e) {
      var d = digits(this.value).slice(0, 4);
      if (d.length === 1 && d > '1') d = '0' + d;
      this.value = d.length > 2 || (d.length === 2 && e.inputType !== 'deleteContentBackward') ? d.slice(0, 2) + '/' + d.slice(2) : d;
    });
    $('card-cvc').addEventListener('input', function () { this.value = digits(this.value).slice(0, 4); });
  }
  if ($('card-form')) {
    $('card-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var button = this.querySelector('button[type=submit]');
      setError('payment-error', '');
      if (card.tokenizer === 'stripe') { stripeToken(button); return; }
      var c = cardFields();
      if (!c) return;
      if (card.tokenizer === 'moyasar') { moyasarToken(c, button); return; }
      busy(button, true);
      // The sandbox's tokenizer stands in for the gateway's own: the card
      // number goes to it, and payments/process sees only the token.
      var num = $('card-number'), exp = $('card-expiry'), cvc = $('card-cvc');
      call('/api/v1/sandbox/tokens', null, { number: c.number, expMonth: c.month, expYear: c.year, cvc: c.cvc }).then(function (res) {
        busy(button, false);
        if (!res.ok || !res.body.token) {
          var map = { invalid_number: ['card-number-error', num, T.err_card_number], expired_card: ['card-expiry-error', exp, T.err_card_expired],
            invalid_expiry_month: ['card-expiry-error', exp, T.err_card_expiry], invalid_expiry_year: ['card-expiry-error', exp, T.err_card_expiry],
            invalid_cvc: ['card-cvc-error', cvc, T.err_card_cvc] }[res.code];
          if (map) { setError(map[0], map[2], map[1]); map[1].focus(); } else setError('payment-error', apiError(res));
          return;
        }
        payWithToken(res.body.token, button);
      });
    });
  }
  var offsite = document.querySelectorAll('[data-method]');
  for (var i = 0; i < offsite.length; i++) {
    offsite[i].addEventListener('click', function () {
      var m = this.getAttribute('data-method');
      process({ method: m, gateway: data.gateways[m] || m, methodPayload: {} }, this);
    });
  }

  // ---- result actions ----------------------------------------------------
  $('retry').addEventListener('click', function () {
    var num = $('card-number');
    if (num) { num.value = ''; $('card-expiry').value = ''; $('card-cvc').value = ''; }
    if (stripeCard && stripeCard.clear) stripeCard.clear();
    toPayment();
  });
  function leave() {
    if (host) {
      if (state === 'failed' && lastPayment) {
        tell({ type: 'sakk:completed', flow_event: 'payment_failed', transaction_id: lastPayment });
        tell({ type: 'sakk:close' });
      } else if (state === 'paid') {
        tell({ type: 'sakk:close' });
      } else {
        tell({ type: 'sakk:cancel' });
      }
      return;
    }
    var next = null;
    if (state === 'paid') next = data.returnUrl && withResult(data.returnUrl, 'SUCCESS', lastPayment);
    // Leaving after a declined attempt is a FAILURE, with the attempt's id
    // (the AlyaPay plugins close the order on it; on CANCELED they keep
    // the cart for another try).
    else if (state === 'failed' && lastPayment && (data.returnUrl || data.cancelUrl)) next = withResult(data.returnUrl || data.cancelUrl, 'FAILURE', lastPayment);
    else if (data.cancelUrl) next = withResult(data.cancelUrl, state === 'expired' ? 'EXPIRED' : 'CANCELED', null);
    else if (data.returnUrl) next = withResult(data.returnUrl, state === 'expired' ? 'EXPIRED' : 'FAILURE', lastPayment);
    if (next) window.location.assign(next);
  }
  $('close').addEventListener('click', leave);
  $('back').addEventListener('click', leave);
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && host) leave();
  });

  // ---- start ---------------------------------------------------------------
  closeButton();
  switch (state) {
    case 'pay':
      if (data.verificationToken || validVerification()) toPayment(); else toCustomer();
      break;
    case 'paid':
      paid(null);
      break;
    case 'failed':
      failed(data.error, null);
      break;
    case 'pending':
      handle({ status: 'pending' });
      break;
    default: // expired, cancelled, invalid, error: rendered by the server
      result(state, $('result').textContent);
  }
})();
