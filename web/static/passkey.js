// Passkeys for Portcullis: sign-in (button and autofill) and registration.
// Plain script, no inline code (CSP script-src 'self'); talks JSON to the
// server with the page's CSRF token in X-CSRF-Token.
(function () {
  'use strict';
  if (!window.PublicKeyCredential || !navigator.credentials) return;

  function toBytes(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    return Uint8Array.from(atob(s), function (c) { return c.charCodeAt(0); });
  }
  function fromBytes(buf) {
    var s = '';
    new Uint8Array(buf).forEach(function (b) { s += String.fromCharCode(b); });
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function field(name) {
    var el = document.querySelector('input[name="' + name + '"]');
    return el ? el.value : '';
  }
  function showError(err) {
    if (err && err.name === 'AbortError') return;
    var box = document.getElementById('passkey-error');
    if (!box) return;
    box.textContent = (err && err.message) || 'The passkey did not work. Try again.';
    box.hidden = false;
  }
  async function post(url, body) {
    var res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': field('csrf_token') },
      body: JSON.stringify(body || {})
    });
    var data = await res.json().catch(function () { return {}; });
    if (data.redirect && res.status === 403) { location.assign(data.redirect); throw new DOMException('', 'AbortError'); }
    if (!res.ok) throw new Error(data.error_description || ('The server answered ' + res.status + '.'));
    return data;
  }
  function descriptors(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: toBytes(c.id) }); });
  }

  // --- sign-in ---------------------------------------------------------
  var pending = null;
  async function signIn(conditional) {
    if (pending) pending.abort();
    var controller = new AbortController();
    pending = controller;
    var options = (await post('/login/passkey/options')).publicKey;
    options.challenge = toBytes(options.challenge);
    options.allowCredentials = descriptors(options.allowCredentials);
    var cred = await navigator.credentials.get({
      publicKey: options,
      mediation: conditional ? 'conditional' : 'optional',
      signal: controller.signal
    });
    var r = cred.response;
    var done = await post('/login/passkey', {
      request: field('request'),
      return: field('return'),
      credential: {
        id: cred.id,
        rawId: fromBytes(cred.rawId),
        type: cred.type,
        extensions: cred.getClientExtensionResults(),
        response: {
          authenticatorData: fromBytes(r.authenticatorData),
          clientDataJSON: fromBytes(r.clientDataJSON),
          signature: fromBytes(r.signature),
          userHandle: r.userHandle ? fromBytes(r.userHandle) : null
        }
      }
    });
    location.assign(done.redirect);
  }
  var button = document.getElementById('passkey-signin');
  if (button) {
    button.addEventListener('click', function () { signIn(false).catch(showError); });
    var username = document.querySelector('input[autocomplete="username webauthn"]');
    if (username && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        if (ok) signIn(true).catch(function (e) { if (e && e.name !== 'AbortError' && e.name !== 'NotAllowedError') showError(e); });
      });
    }
  }

  // --- registration ----------------------------------------------------
  var form = document.getElementById('passkey-register');
  if (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      (async function () {
        var options = (await post('/account/passkeys/options')).publicKey;
        options.challenge = toBytes(options.challenge);
        options.user.id = toBytes(options.user.id);
        options.excludeCredentials = descriptors(options.excludeCredentials);
        var cred = await navigator.credentials.create({ publicKey: options });
        var r = cred.response;
        var done = await post('/account/passkeys', {
          name: document.getElementById('passkey-name').value,
          request: field('request'),
          credential: {
            id: cred.id,
            rawId: fromBytes(cred.rawId),
            type: cred.type,
            extensions: cred.getClientExtensionResults(),
            response: {
              attestationObject: fromBytes(r.attestationObject),
              clientDataJSON: fromBytes(r.clientDataJSON),
              transports: r.getTransports ? r.getTransports() : []
            }
          }
        });
        if (done.recovery_codes_due) {
          document.getElementById('recovery-initial').submit();
        } else {
          location.assign(done.redirect);
        }
      })().catch(showError);
    });
  }
})();
