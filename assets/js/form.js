// Public reporting form: progressive enhancement only. Without this file
// every question is shown and the server ignores answers that do not apply.
//  1. Conditional questions: elements with data-show="{json}" are hidden
//     until the condition on the screen's answers holds.
//  2. Address search through our own server endpoint (BAN), filling the
//     manual fields; manual entry keeps working.
//  3. Previews of the photos chosen before sending.
(function () {
  "use strict";

  var form = document.getElementById("formulaire-signalement");
  if (!form) return;

  function valueOf(name) {
    var fields = form.querySelectorAll('[name="' + name + '"]');
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.disabled) continue;
      if (f.type === "radio" || f.type === "checkbox") {
        if (f.checked) return f.value;
      } else if (f.value) {
        return f.value;
      }
    }
    return "";
  }

  function holds(cond) {
    if (cond.eq) return cond.eq[1].indexOf(valueOf(cond.eq[0])) !== -1;
    if (cond.all) return cond.all.every(holds);
    if (cond.any) return cond.any.some(holds);
    if (cond["not"]) return !holds(cond["not"]);
    return true;
  }

  var conditional = Array.prototype.slice.call(form.querySelectorAll("[data-show]"));
  conditional.forEach(function (el) {
    try {
      el._cond = JSON.parse(el.getAttribute("data-show"));
    } catch (e) {
      el._cond = null;
    }
  });

  function refresh() {
    conditional.forEach(function (el) {
      if (!el._cond) return;
      var visible = holds(el._cond);
      el.hidden = !visible;
      // Hidden answers are not sent: the server drops them anyway.
      el.querySelectorAll("input, select, textarea").forEach(function (f) {
        f.disabled = !visible;
      });
    });
  }
  form.addEventListener("change", refresh);
  refresh();

  // Address search.
  var block = document.getElementById("recherche-adresse-bloc");
  var search = document.getElementById("recherche-adresse");
  var list = document.getElementById("suggestions-adresse");
  if (block && search && list) {
    block.hidden = false;
    var timer = null;
    var set = function (id, value) {
      var el = document.getElementById(id);
      if (el) el.value = value || "";
    };
    search.addEventListener("input", function () {
      clearTimeout(timer);
      var q = search.value.trim();
      if (q.length < 3) {
        list.textContent = "";
        return;
      }
      timer = setTimeout(function () {
        fetch("/signalement/recherche-adresse?q=" + encodeURIComponent(q), {
          headers: { Accept: "application/json" },
        })
          .then(function (r) {
            return r.ok ? r.json() : [];
          })
          .then(function (items) {
            list.textContent = "";
            items.forEach(function (item) {
              var li = document.createElement("li");
              var button = document.createElement("button");
              button.type = "button";
              button.className = "fr-btn fr-btn--tertiary fr-btn--sm";
              button.textContent = item.label;
              button.addEventListener("click", function () {
                set("adresse_logement_adresse", item.label);
                set("adresse_logement_adresse_detail_numero", item.street);
                set("adresse_logement_adresse_detail_code_postal", item.postcode);
                set("adresse_logement_adresse_detail_commune", item.city);
                set("adresse_logement_adresse_detail_insee", item.citycode);
                search.value = item.label;
                list.textContent = "";
              });
              li.appendChild(button);
              list.appendChild(li);
            });
          })
          .catch(function () {
            list.textContent = "";
          });
      }, 250);
    });
    // A hand-edited field means manual entry: the INSEE code is re-derived.
    ["adresse_logement_adresse_detail_code_postal", "adresse_logement_adresse_detail_commune"].forEach(
      function (id) {
        var el = document.getElementById(id);
        if (el)
          el.addEventListener("input", function () {
            set("adresse_logement_adresse_detail_insee", "");
            set("adresse_logement_adresse", "");
          });
      }
    );
  }

  // Photo previews.
  form.querySelectorAll('input[type="file"]').forEach(function (input) {
    var target = form.querySelector('[data-previews-for="' + input.name + '"]');
    if (!target || !window.URL) return;
    input.addEventListener("change", function () {
      target.textContent = "";
      Array.prototype.forEach.call(input.files, function (file) {
        var li = document.createElement("li");
        if (/^image\//.test(file.type)) {
          var img = document.createElement("img");
          img.src = URL.createObjectURL(file);
          img.alt = "Aperçu de " + file.name;
          img.width = 120;
          li.appendChild(img);
        }
        var name = document.createElement("span");
        name.className = "fr-text--sm fr-ml-1w";
        name.textContent = file.name;
        li.appendChild(name);
        target.appendChild(li);
      });
    });
  });
})();
