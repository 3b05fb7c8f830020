// A two-column table of label and value (claims on both pages), as text nodes only: values
// come from credentials and requests, so they never become markup.

/** Replaces the rows of `table`'s tbody with `rows` ([label, value] pairs); hides the table
 *  when there is none. */
export function fillTable(table, rows) {
  const body = table.querySelector("tbody");
  body.replaceChildren();
  for (const [k, v] of rows) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    const td = document.createElement("td");
    th.textContent = k;
    td.textContent = v;
    tr.append(th, td);
    body.append(tr);
  }
  table.hidden = rows.length === 0;
}
