// The demo shop's page: asks its own server for a session, opens sakk's
// checkout with the SDK, and lets its server confirm the order.
(function () {
  'use strict';
  var status = document.getElementById('status');
  function say(text) { if (status) status.textContent = text; }

  window.PaymentCallback = function (ev) {
    if (ev && ev.event === 'payment_flow_completed' && ev.transaction_id) {
      // The event proves nothing: the order page asks sakk server-side.
      window.location.href = '/demo/orders/' + encodeURIComponent(ev.transaction_id);
    } else if (ev && ev.event === 'payment_flow_cancelled') {
      say('Payment cancelled (' + ev.reason + '). Nothing was charged.');
    }
  };

  document.querySelectorAll('[data-buy]').forEach(function (button) {
    button.addEventListener('click', function () {
      button.disabled = true;
      say('Opening the checkout…');
      fetch('/demo/orders', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ product: button.getAttribute('data-buy'), quantity: 1 })
      }).then(function (r) {
        if (!r.ok) throw new Error('the shop could not open a payment (' + r.status + ')');
        return r.json();
      }).then(function (o) {
        say('');
        window.AlyaPay.Payments.init({ session_token: o.session_token, locale: document.documentElement.lang || 'en' });
      }).catch(function (e) {
        say(e.message);
      }).then(function () { button.disabled = false; });
    });
  });

  var list = document.getElementById('events');
  if (list) {
    window.setInterval(function () {
      fetch('/demo/events', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(function (d) {
        if (!d.events || !d.events.length) return;
        list.textContent = '';
        d.events.forEach(function (e) {
          var li = document.createElement('li');
          var code = document.createElement('code');
          code.textContent = e.type;
          li.appendChild(code);
          li.appendChild(document.createTextNode(' ' + e.summary + ' '));
          var t = document.createElement('time');
          t.textContent = new Date(e.receivedAt).toLocaleTimeString();
          li.appendChild(t);
          list.appendChild(li);
        });
      }).catch(function () {});
    }, 2000);
  }
})();
