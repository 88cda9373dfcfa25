// nm_pe_array: ROWS x COLS output-stationary systolic array of nm_pe with run-time N:M modes.
//
// Orientation: W is (ROWS output channels, K), X is (K, COLS), Y = W @ X. Each accepted cycle
// ("step") carries, for every row r, one step of compressed weights of W[r, :] (P values and P
// indices: P / n whole N:M groups of the tile's mode) and, for every column c, the activations
// of the same groups (LANES lanes; dense mode: P weights and P activations). in_mode selects the
// tile's mode (0 dense, i + 1 the i-th (MODE_N, MODE_M) pair, see nm_pe); hold it over a tile,
// change it freely between tiles. Packing (LSB first, accel/bitlayout.py words side by side):
//   in_w_val[r*P*DATA_W +: P*DATA_W]   row r's value word (the step's groups side by side)
//   in_w_idx[r*P*IDX_W  +: P*IDX_W ]   row r's metadata word (index j at j*clog2(m))
//   in_x[((q*COLS + c)*LANES + l)*DATA_W +: DATA_W]  activation lane l of column c, group q
//
// Group skipping (GROUP < ROWS): the rows form ROWS / GROUP groups of GROUP adjacent output
// channels that share one zero pattern; each group has its own activation port per column
// (group q enters at row q*GROUP, delayed q*GROUP + c cycles, and moves down its GROUP rows), so
// a step may carry different K positions for different groups: each group streams only the
// positions it keeps (the gather from its index list happens at the port), in dense mode. A
// tile runs as many steps as its slowest group needs; shorter groups pad with zero weights.
// GROUP = ROWS is the plain array (one port per column, at row 0).
//
// Timing (matches simulator/tile.py os_tile_cycles): weights enter row r after r skew registers
// and move right one PE per cycle, activations enter column c after c skew registers and move
// down one PE per cycle, so PE (r, c) sees step s at cycle s + r + c. A finished sum leaves its
// column on the column's result bus and a drain pipeline of ROWS + COLS - 2 - c registers, which
// lines the columns up and emits one output row per cycle, row 0 first: out_valid, out_row and
// out_y (column c at [c*ACC_W +: ACC_W]). Counting the edge that accepts a tile's step 0 as cycle
// 1, its last row is sampled at edge os_tile_cycles(ROWS, COLS, steps).
//
// Back-to-back tiles need no idle cycle; the only stall: the output port emits one row per cycle,
// so a tile's last step is accepted at least ROWS cycles after the previous tile's last step
// (in_ready low only for such a last step).
module nm_pe_array #(
    parameter int ROWS      = 2,
    parameter int COLS      = 2,
    parameter int P         = 2,
    parameter int NUM_MODES = 1,
    parameter int MODE_N    = 2,
    parameter int MODE_M    = 4,
    parameter int LANES     = 4,
    parameter int IDX_W     = 2,
    parameter int MODE_W    = 1,
    parameter int DATA_W    = 8,
    parameter int ACC_W     = 32,
    parameter int GROUP     = ROWS
) (
    input  logic                          clk,
    input  logic                          rst,
    input  logic                          in_valid,
    output logic                          in_ready,
    input  logic                          in_first,
    input  logic                          in_last,
    input  logic [            MODE_W-1:0] in_mode,
    input  logic [     ROWS*P*DATA_W-1:0] in_w_val,
    input  logic [      ROWS*P*IDX_W-1:0] in_w_idx,
    input  logic [ROWS/GROUP*COLS*LANES*DATA_W-1:0] in_x,
    output logic                          out_valid,
    output logic [             ROW_W-1:0] out_row,
    output logic [        COLS*ACC_W-1:0] out_y
);
  localparam int ROW_W = ROWS > 1 ? $clog2(ROWS) : 1;
  localparam int CTRL_W = 3 + MODE_W;  // {valid, first, last, mode}
  localparam int ROW_IN_W = CTRL_W + P * DATA_W + P * IDX_W;
  localparam int SINCE_W = ROWS > 0 ? $clog2(ROWS + 1) : 1;
  localparam logic [SINCE_W-1:0] SINCE_FULL = ROWS[SINCE_W-1:0];
  localparam logic [SINCE_W-1:0] SINCE_ONE = 1;

  initial begin
    if (ROWS < 1 || COLS < 1)
      $fatal(1, "nm_pe_array: ROWS and COLS must be >= 1, not %0d x %0d", ROWS, COLS);
    if (GROUP < 1 || ROWS % GROUP != 0)
      $fatal(1, "nm_pe_array: GROUP must divide ROWS=%0d, not %0d", ROWS, GROUP);
  end

  // ---- ingress: a last step waits until ROWS cycles after the previous one --
  logic [SINCE_W-1:0] since_last;
  logic accept;
  assign in_ready = !in_last || since_last == SINCE_FULL;
  assign accept = in_valid && in_ready;

  always @(posedge clk) begin
    if (rst) since_last <= SINCE_FULL;
    else if (accept && in_last) since_last <= SINCE_ONE;
    else if (since_last != SINCE_FULL) since_last <= since_last + SINCE_ONE;
  end

  // ---- systolic operand movement -------------------------------------------
  // row_tap[r][c]: what PE (r, c) sees from the left; col_tap[r][c]: from above.
  logic [ROW_IN_W-1:0] row_tap[ROWS][COLS];
  logic [LANES*DATA_W-1:0] col_tap[ROWS][COLS];
  logic                done[ROWS][COLS];
  logic [   ACC_W-1:0] acc[ROWS][COLS];

  for (genvar r = 0; r < ROWS; r++) begin : g_row
    for (genvar c = 0; c < COLS; c++) begin : g_col
      if (c == 0) begin : g_skew
        nm_delay #(
            .W(ROW_IN_W),
            .DEPTH(r)
        ) u_skew (
            .clk(clk),
            .rst(rst),
            .d({
              accept,
              in_first,
              in_last,
              in_mode,
              in_w_idx[r*P*IDX_W+:P*IDX_W],
              in_w_val[r*P*DATA_W+:P*DATA_W]
            }),
            .q(row_tap[r][c])
        );
      end else begin : g_hop
        nm_delay #(
            .W(ROW_IN_W),
            .DEPTH(1)
        ) u_hop (
            .clk(clk),
            .rst(rst),
            .d(row_tap[r][c-1]),
            .q(row_tap[r][c])
        );
      end

      if (r % GROUP == 0) begin : g_skew_x
        // the activation port of row group r / GROUP, column c
        nm_delay #(
            .W(LANES * DATA_W),
            .DEPTH(r + c)
        ) u_skew (
            .clk(clk),
            .rst(rst),
            .d(in_x[(r/GROUP*COLS+c)*LANES*DATA_W+:LANES*DATA_W]),
            .q(col_tap[r][c])
        );
      end else begin : g_hop_x
        nm_delay #(
            .W(LANES * DATA_W),
            .DEPTH(1)
        ) u_hop (
            .clk(clk),
            .rst(rst),
            .d(col_tap[r-1][c]),
            .q(col_tap[r][c])
        );
      end

      nm_pe #(
          .P(P),
          .NUM_MODES(NUM_MODES),
          .MODE_N(MODE_N),
          .MODE_M(MODE_M),
          .LANES(LANES),
          .IDX_W(IDX_W),
          .MODE_W(MODE_W),
          .DATA_W(DATA_W),
          .ACC_W(ACC_W)
      ) u_pe (
          .clk(clk),
          .rst(rst),
          .in_valid(row_tap[r][c][ROW_IN_W-1]),
          .in_first(row_tap[r][c][ROW_IN_W-2]),
          .in_last(row_tap[r][c][ROW_IN_W-3]),
          .in_mode(row_tap[r][c][P*DATA_W+P*IDX_W+:MODE_W]),
          .in_w(row_tap[r][c][0+:P*DATA_W]),
          .in_idx(row_tap[r][c][P*DATA_W+:P*IDX_W]),
          .in_a(col_tap[r][c]),
          .done(done[r][c]),
          .acc(acc[r][c])
      );
    end
  end

  // ---- drain: column result bus, then a deskew/drain pipeline per column ----
  // Rows of one column finish on consecutive cycles (and tiles ROWS cycles
  // apart), so at most one done is high per column and an OR bus suffices.
  for (genvar c = 0; c < COLS; c++) begin : g_drain
    logic [ACC_W-1:0] bus_y;
    logic [ROW_W-1:0] bus_row;
    logic bus_valid;
    always @* begin
      bus_y = '0;
      bus_row = '0;
      bus_valid = 1'b0;
      for (int r = 0; r < ROWS; r++) begin
        if (done[r][c]) begin
          bus_y = bus_y | acc[r][c];
          bus_row = bus_row | ROW_W'(r);
          bus_valid = 1'b1;
        end
      end
    end

    logic [ACC_W-1:0] y_q;
    nm_delay #(
        .W(ACC_W),
        .DEPTH(ROWS + COLS - 2 - c)
    ) u_drain (
        .clk(clk),
        .rst(rst),
        .d(bus_y),
        .q(y_q)
    );
    assign out_y[c*ACC_W+:ACC_W] = y_q;

    if (c == 0) begin : g_ctrl
      nm_delay #(
          .W(1 + ROW_W),
          .DEPTH(ROWS + COLS - 2)
      ) u_drain_ctrl (
          .clk(clk),
          .rst(rst),
          .d({bus_valid, bus_row}),
          .q({out_valid, out_row})
      );
    end else begin : g_unused
      // every column carries the same rows at the same time; column 0 reports them
      logic unused_ok;
      assign unused_ok = bus_valid ^ (^bus_row);
    end
  end
endmodule
