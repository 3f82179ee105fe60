// Votes without a page reload: the vote forms work without JavaScript (POST + redirect);
// with it, the same POST goes through fetch and the button and count update in place.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!form.classList || !form.classList.contains("vote")) return;
  event.preventDefault();
  const data = new FormData(form);
  let response;
  try {
    response = await fetch(form.action, {method: "POST", body: data, headers: {"Accept": "application/json"}});
  } catch (e) {
    form.submit();
    return;
  }
  if (response.status === 401) { form.submit(); return; }  // the server sends it to sign-in
  if (!response.ok) return;
  const result = await response.json();
  form.querySelector(".count").textContent = result.votes;
  form.querySelector("input[name=value]").value = result.voted ? "0" : "1";
  const button = form.querySelector("button");
  button.classList.toggle("voted", result.voted);
  button.setAttribute("aria-pressed", result.voted ? "true" : "false");
  button.title = result.voted ? "Take your vote back" : "Upvote";
});
