const bill = document.getElementById("bill");
const tip = document.getElementById("tip");
const people = document.getElementById("people");
const problem = document.getElementById("problem");
const results = document.getElementById("results");

const amount = (field) => Math.max(0, parseFloat(field.value) || 0);

function update() {
  const count = parseInt(people.value, 10);
  if (!(count >= 1)) {
    problem.hidden = false;
    problem.textContent = "Please enter at least 1 person.";
    results.textContent = "Tip: 0.00\nEach pays: 0.00";
    return;
  }
  problem.hidden = true;
  problem.textContent = "";
  const tipTotal = (amount(bill) * amount(tip)) / 100;
  const each = (amount(bill) + tipTotal) / count;
  results.textContent = `Tip: ${tipTotal.toFixed(2)}\nEach pays: ${each.toFixed(2)}`;
}

for (const field of [bill, tip, people]) field.addEventListener("input", update);
document.getElementById("calc").addEventListener("submit", (event) => event.preventDefault());
update();
