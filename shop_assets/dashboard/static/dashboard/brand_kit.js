// Each brand colour's hex value beside its swatch, as text to read and copy, kept in step
// with the picker.
document.querySelectorAll("[data-hex-for]").forEach((hex) => {
  const input = document.getElementById(hex.dataset.hexFor);
  if (!input) return;
  const show = () => { hex.textContent = input.value.toLowerCase(); };
  input.addEventListener("input", show);
  show();
});
