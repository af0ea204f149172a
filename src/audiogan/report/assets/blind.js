// Blind page: collect the checked ratings and save them as an answers file (no network).
(function () {
  var test = JSON.parse(document.getElementById("blind-test").textContent);
  var button = document.getElementById("download");
  var status = document.getElementById("status");
  button.addEventListener("click", function () {
    var ratings = {};
    var count = 0;
    document.querySelectorAll("input.rate:checked").forEach(function (input) {
      var clip = input.dataset.clip;
      ratings[clip] = ratings[clip] || {};
      ratings[clip][input.dataset.column] = Number(input.value);
      count += 1;
    });
    var answers = {
      format: test.format,
      key: test.key,
      key_id: test.key_id,
      seed: test.seed,
      saved: new Date().toISOString(),
      ratings: ratings
    };
    var blob = new Blob([JSON.stringify(answers, null, 1)], { type: "application/json" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "answers-" + test.key_id.slice(0, 8) + ".json";
    document.body.appendChild(link);
    link.click();
    link.remove();
    status.textContent = count + " ratings saved to " + link.download;
  });
})();
