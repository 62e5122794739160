// The page keeps no state of its own: everything it shows comes from the session, through /api/state. Where the store
// allows it (state.sync), the cart also works offline: statekit-sync.js records each change in IndexedDB, shows it at
// once, and sends it to /statekit/sync when the connection returns.
const $ = (id) => document.getElementById(id);
let products = [];
let sync = null;

async function post(path, body) {
  try {
    const response = await fetch(path, {
      method: 'POST',
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    $('error').textContent = response.ok ? '' : `The shop could not save that (${response.status}).`;
  } catch {
    $('error').textContent = 'The shop is offline; try again when the connection returns.';
  }

  // A checkout empties the cart on the server: the sync client learns the new cart from its next answer.
  await sync?.sync();
  await render();
}

function changeCart(sku, by) {
  if (sync) {
    sync.add('cart', sku, by);   // shown at once, sent now or on reconnect
  } else {
    post(`/api/cart/${sku}${by === 1 ? '' : `?quantity=${by}`}`);
  }
}

function renderCart(lines) {
  const rows = $('cart').querySelector('tbody');
  rows.replaceChildren(...lines.map((line) => {
    const row = document.createElement('tr');
    row.dataset.sku = line.sku;
    row.innerHTML = `<td>${line.name}</td><td class="qty">${line.quantity}</td><td>${line.subtotal.toFixed(2)}</td>`;
    const minus = document.createElement('button');
    minus.textContent = '−';
    minus.onclick = () => changeCart(line.sku, -1);
    const cell = document.createElement('td');
    cell.append(minus);
    row.append(cell);
    return row;
  }));
  $('cart-count').textContent = lines.reduce((n, line) => n + line.quantity, 0);
  $('cart-total').textContent = lines.reduce((sum, line) => sum + line.subtotal, 0).toFixed(2);
}

// The cart as the sync client shows it: the server's last answer plus every change still waiting.
function localCart() {
  const cart = sync.value('cart') ?? {};
  return Object.entries(cart)
    .map(([sku, quantity]) => ({ sku, quantity, product: products.find((p) => p.sku === sku) }))
    .filter((line) => line.product && line.quantity > 0)
    .map((line) => ({ sku: line.sku, name: line.product.name, quantity: line.quantity, subtotal: line.product.price * line.quantity }));
}

function renderSync() {
  const status = sync.status;
  $('sync').hidden = false;
  $('sync-pending').textContent = status.pending === 0
    ? 'All changes synced'
    : `${status.pending} change${status.pending === 1 ? '' : 's'} waiting to sync`;
  $('sync-connection').textContent = status.online ? 'online' : 'offline';
  $('sync-last').textContent = status.lastSync ? `last sync ${status.lastSync.toLocaleTimeString()}` : 'not synced yet';
  $('sync-conflicts').textContent = status.conflicts.length === 0
    ? ''
    : `· ${status.conflicts.length} change${status.conflicts.length === 1 ? ' was' : 's were'} rejected; the cart shows the server's`;
  renderCart(localCart());
}

async function render() {
  let state;
  try {
    state = await (await fetch('/api/state')).json();
  } catch {
    return;   // offline: the synced cart still renders from the sync client
  }

  $('strategy-name').textContent = state.strategy;
  $('strategy-survives').textContent = state.survives;
  $('ticket-length').textContent = state.ticketLength;
  document.body.className = state.theme;
  if (!sync) {
    renderCart(state.cart);
  }

  $('checkout-step').textContent = state.checkout.step;
  $('checkout-label').textContent = state.checkout.step === 1 ? 'Your name' : 'Delivery address';
  $('checkout-summary').textContent = state.checkout.name ? `Ordering as ${state.checkout.name}.` : '';
  $('last-order').textContent = state.lastOrder ? `Last order: ${state.lastOrder}` : '';
  return state;
}

async function start() {
  products = await (await fetch('/api/products')).json();
  $('products').replaceChildren(...products.map((p) => {
    const item = document.createElement('li');
    item.innerHTML = `<span>${p.name} — ${p.price.toFixed(2)}</span>`;
    const add = document.createElement('button');
    add.textContent = 'Add';
    add.id = `add-${p.sku}`;
    add.onclick = () => changeCart(p.sku, 1);
    item.append(add);
    return item;
  }));
  $('checkout-form').onsubmit = (e) => {
    e.preventDefault();
    const value = $('checkout-input').value;
    const step = $('checkout-step').textContent;
    $('checkout-input').value = '';
    post('/api/checkout', step === '1' ? { name: value } : { address: value });
  };
  $('checkout-back').onclick = () => post('/api/checkout/back');
  for (const button of document.querySelectorAll('[data-theme]')) {
    button.onclick = () => post(`/api/theme/${button.dataset.theme}`);
  }

  const state = await render();
  if (state?.sync) {
    const { StateKitSync } = await import('/_content/StateKit.AspNetCore/statekit-sync.js');
    sync = new StateKitSync({ keys: ['cart'], retryMs: 1000 });
    sync.addEventListener('change', renderSync);
    await sync.start();
    await render();   // the first sync may have started the session: show its ticket
  }
}

start();
