// The page keeps no state of its own: everything it shows comes from the session, through /api/state.
const $ = (id) => document.getElementById(id);

async function post(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  $('error').textContent = response.ok ? '' : `The shop could not save that (${response.status}).`;
  await render();
}

async function render() {
  const state = await (await fetch('/api/state')).json();
  $('strategy-name').textContent = state.strategy;
  $('strategy-survives').textContent = state.survives;
  $('ticket-length').textContent = state.ticketLength;
  document.body.className = state.theme;

  const rows = $('cart').querySelector('tbody');
  rows.replaceChildren(...state.cart.map((line) => {
    const row = document.createElement('tr');
    row.dataset.sku = line.sku;
    row.innerHTML = `<td>${line.name}</td><td class="qty">${line.quantity}</td><td>${line.subtotal.toFixed(2)}</td>`;
    const minus = document.createElement('button');
    minus.textContent = '−';
    minus.onclick = () => post(`/api/cart/${line.sku}?quantity=-1`);
    const cell = document.createElement('td');
    cell.append(minus);
    row.append(cell);
    return row;
  }));
  $('cart-count').textContent = state.cart.reduce((n, line) => n + line.quantity, 0);
  $('cart-total').textContent = state.total.toFixed(2);

  $('checkout-step').textContent = state.checkout.step;
  $('checkout-label').textContent = state.checkout.step === 1 ? 'Your name' : 'Delivery address';
  $('checkout-summary').textContent = state.checkout.name ? `Ordering as ${state.checkout.name}.` : '';
  $('last-order').textContent = state.lastOrder ? `Last order: ${state.lastOrder}` : '';
}

async function start() {
  const products = await (await fetch('/api/products')).json();
  $('products').replaceChildren(...products.map((p) => {
    const item = document.createElement('li');
    item.innerHTML = `<span>${p.name} — ${p.price.toFixed(2)}</span>`;
    const add = document.createElement('button');
    add.textContent = 'Add';
    add.id = `add-${p.sku}`;
    add.onclick = () => post(`/api/cart/${p.sku}`);
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
  await render();
}

start();
