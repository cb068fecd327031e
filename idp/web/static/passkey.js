// Passkey forms (templates/passkey/_form.html): pressing the button runs the WebAuthn
// ceremony in the browser and posts its answer; the server checks everything.
// data-passkey is "create" (add one) or "get" (sign in); the options come inline
// (data-options) or, made only when the button is pressed, from data-options-url.
(function () {
  "use strict";

  function toBytes(text) {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    return Uint8Array.from(atob(base64 + "===".slice((base64.length + 3) % 4)), (c) => c.charCodeAt(0));
  }

  function toText(buffer) {
    const bytes = new Uint8Array(buffer);
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map((item) => Object.assign({}, item, { id: toBytes(item.id) }));
  }

  function creationOptions(options) {
    return Object.assign({}, options, {
      challenge: toBytes(options.challenge),
      user: Object.assign({}, options.user, { id: toBytes(options.user.id) }),
      excludeCredentials: withIds(options.excludeCredentials),
    });
  }

  function requestOptions(options) {
    return Object.assign({}, options, {
      challenge: toBytes(options.challenge),
      allowCredentials: withIds(options.allowCredentials),
    });
  }

  // The JSON form of a credential (WebAuthn Level 3, PublicKeyCredential.toJSON).
  function answer(credential) {
    const response = credential.response;
    const json = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = toText(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toText(response.authenticatorData);
      json.response.signature = toText(response.signature);
      json.response.userHandle = response.userHandle ? toText(response.userHandle) : undefined;
    }
    return json;
  }

  function show(form, problem) {
    for (const message of form.querySelectorAll("[data-passkey-problem]")) {
      message.hidden = message.dataset.passkeyProblem !== problem;
    }
  }

  async function options(form) {
    if (!form.dataset.optionsUrl) return JSON.parse(form.dataset.options);
    const reply = await fetch(form.dataset.optionsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": form.elements.csrf_token.value, Accept: "application/json" },
    });
    if (!reply.ok) throw new Error("options " + reply.status);
    const body = await reply.json();
    form.elements.ceremony.value = body.ceremony;
    return body.publicKey;
  }

  async function run(form, button) {
    if (!window.PublicKeyCredential || !navigator.credentials) {
      show(form, "unsupported");
      return;
    }
    show(form, null);
    button.disabled = true;
    try {
      const publicKey = await options(form);
      const credential = form.dataset.passkey === "create"
        ? await navigator.credentials.create({ publicKey: creationOptions(publicKey) })
        : await navigator.credentials.get({ publicKey: requestOptions(publicKey) });
      form.elements.credential.value = JSON.stringify(answer(credential));
      form.submit();
    } catch (error) {
      // NotAllowedError: the person cancelled, or the time ran out.
      show(form, error && (error.name === "NotAllowedError" || error.name === "AbortError") ? "cancelled" : "failed");
      button.disabled = false;
    }
  }

  for (const form of document.querySelectorAll("form[data-passkey]")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      run(form, form.querySelector("button[type=submit]"));
    });
  }
})();
