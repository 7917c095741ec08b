-- An editor session in a real headless Neovim, through editors/neovim/lua/threadlint.lua:
-- open THREADLINT_FILE, wait for diagnostics, hover the first, apply its quick fix, then
-- fix-all; write what happened to THREADLINT_OUT as JSON and quit.
local file = os.getenv('THREADLINT_FILE')
local out = os.getenv('THREADLINT_OUT')
local result = { steps = {} }

local function finish()
  result.text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n') .. '\n'
  local handle = io.open(out, 'w')
  handle:write(vim.fn.json_encode(result))
  handle:close()
  vim.cmd('qall!')
end

local function step(name, fn)
  local ok, err = pcall(fn)
  table.insert(result.steps, { name = name, ok = ok, error = ok and '' or tostring(err) })
  if not ok then
    finish()
  end
end

local function lsp_diagnostics(bufnr)
  local list = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    -- Back to the protocol's form, as Neovim's own code-action request does (0.7 keeps only
    -- some of the fields in user_data). The test files are ASCII: columns are UTF-16 units.
    local kept = (d.user_data or {}).lsp or {}
    local lsp = vim.tbl_extend('force', kept, {
      range = {
        start = { line = d.lnum, character = d.col },
        ['end'] = { line = d.end_lnum, character = d.end_col },
      },
      severity = d.severity,
      message = d.message,
      source = d.source,
      code = d.code or kept.code,
    })
    table.insert(list, {
      row = d.lnum + 1,
      column = d.col + 1,
      code = lsp.code,
      lsp = lsp,
    })
  end
  table.sort(list, function(a, b)
    return a.row < b.row or (a.row == b.row and a.column < b.column)
  end)
  return list
end

local start = vim.loop.hrtime()
vim.cmd('edit ' .. vim.fn.fnameescape(file))
local bufnr = vim.api.nvim_get_current_buf()
local client
local attached

step('attach', function()
  assert(vim.wait(5000, function()
    client = vim.lsp.get_active_clients()[1]
    return client ~= nil and client.initialized
  end, 1), 'no client attached')
  attached = vim.loop.hrtime()
end)

step('diagnostics', function()
  assert(vim.wait(10000, function()
    return #vim.diagnostic.get(bufnr) > 0
  end, 1), 'no diagnostics')
  -- From opening the file: to the server's answer to `initialize`, to the first diagnostics.
  result.attach_ms = (attached - start) / 1e6
  result.diagnostics_ms = (vim.loop.hrtime() - start) / 1e6
  result.diagnostics = {}
  for _, d in ipairs(lsp_diagnostics(bufnr)) do
    table.insert(result.diagnostics, { row = d.row, column = d.column, code = d.code })
  end
end)

local uri = vim.uri_from_bufnr(bufnr)
local first = lsp_diagnostics(bufnr)[1]
  or { lsp = { range = { start = { line = 0, character = 0 }, ['end'] = { line = 0, character = 0 } } } }

step('hover', function()
  local response = client.request_sync('textDocument/hover', {
    textDocument = { uri = uri },
    position = first.lsp.range.start,
  }, 5000, bufnr)
  local contents = response and response.result and response.result.contents
  result.hover = type(contents) == 'table' and (contents.value or '') or tostring(contents)
end)

local function code_actions(only, diagnostics, range)
  local response = client.request_sync('textDocument/codeAction', {
    textDocument = { uri = uri },
    range = range,
    context = { only = only, diagnostics = diagnostics },
  }, 5000, bufnr)
  assert(response and response.result, 'no code actions: ' .. vim.inspect(response))
  return response.result
end

local function wait_for_count(count)
  assert(vim.wait(10000, function()
    return #vim.diagnostic.get(bufnr) == count
  end, 10), 'diagnostics did not become ' .. count .. ': ' .. vim.inspect(lsp_diagnostics(bufnr)))
end

step('quick fix', function()
  local before = #vim.diagnostic.get(bufnr)
  local actions = code_actions({ 'quickfix' }, { first.lsp }, first.lsp.range)
  result.quick_fixes = {}
  local chosen
  for _, action in ipairs(actions) do
    table.insert(result.quick_fixes, action.title)
    if not chosen and action.edit and action.title:find('(safe)', 1, true) then
      chosen = action
    end
  end
  assert(chosen, 'no safe quick fix among ' .. vim.inspect(result.quick_fixes))
  vim.lsp.util.apply_workspace_edit(chosen.edit, client.offset_encoding)
  wait_for_count(before - 1)
end)

step('fix all', function()
  local last = vim.api.nvim_buf_line_count(bufnr)
  local actions = code_actions({ 'source.fixAll.threadlint' }, {}, {
    start = { line = 0, character = 0 },
    ['end'] = { line = last, character = 0 },
  })
  assert(#actions == 1 and actions[1].edit, 'fix-all: ' .. vim.inspect(actions))
  vim.lsp.util.apply_workspace_edit(actions[1].edit, client.offset_encoding)
end)

finish()
