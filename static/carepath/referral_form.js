// New referral: ticking a red flag selects ASAP and shows why beside the priority. Only a help:
// the form works without it, and the service refuses a lower priority without a reason anyway
// (referrals/rules.py).
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("referral-form");
  var note = document.getElementById("red-flag-priority-note");
  if (!form || !note) return;
  var flags = form.querySelectorAll('input[name="red_flags"]');
  function anyTicked() {
    return Array.prototype.some.call(flags, function (flag) { return flag.checked; });
  }
  flags.forEach(function (flag) {
    flag.addEventListener("change", function () {
      note.hidden = !anyTicked();
      var asap = form.querySelector('input[name="requested_priority"][value="asap"]');
      if (flag.checked && asap) asap.checked = true;
    });
  });
});
