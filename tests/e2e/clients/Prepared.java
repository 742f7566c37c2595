// tests/e2e/clients/Prepared.java PORT THRESHOLD — pgjdbc runs each prepared statement
// ten times with prepareThreshold THRESHOLD (0: unnamed statements, text results; 5:
// named server-prepared statements and binary results from the 5th execution on; -1:
// named and binary from the first), and prints every execution's rows as text lines
// "q<n>|<execution>|<row>". Then a transaction with autoCommit off (rollback, then
// commit). protocol.py compares tally's lines with PostgreSQL 15's, and each
// execution's with the first one's.
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.Properties;

public class Prepared {
    static String cell(ResultSet rs, int i, int type) throws SQLException {
        if (type == java.sql.Types.ARRAY) {
            Array a = rs.getArray(i);
            return a == null ? "NULL" : a.getBaseTypeName() + ":" + Arrays.deepToString((Object[]) a.getArray());
        }
        // getObject, not getString: pgjdbc prints a binary float4 as "3.4028235E38" and
        // its text as "3.4028235e+38", a difference of formatting only
        Object o = rs.getObject(i);
        return o == null ? "NULL" : o.getClass().getSimpleName() + ":" + o;
    }

    static void run(PreparedStatement st, String tag, int exec) throws SQLException {
        try (ResultSet rs = st.executeQuery()) {
            ResultSetMetaData md = rs.getMetaData();
            StringBuilder head = new StringBuilder();
            for (int i = 1; i <= md.getColumnCount(); i++)
                head.append(i > 1 ? "," : "").append(md.getColumnName(i)).append(":").append(md.getColumnTypeName(i));
            System.out.println(tag + "|" + exec + "|" + head);
            while (rs.next()) {
                StringBuilder b = new StringBuilder();
                for (int i = 1; i <= md.getColumnCount(); i++)
                    b.append(i > 1 ? "," : "").append(cell(rs, i, md.getColumnType(i)));
                System.out.println(tag + "|" + exec + "|" + b);
            }
        } catch (SQLException e) {
            System.out.println(tag + "|" + exec + "|error " + e.getSQLState());
        }
    }

    static long count(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        Properties p = new Properties();
        p.setProperty("user", "postgres");
        p.setProperty("prepareThreshold", args[1]);
        p.setProperty("socketTimeout", "60");
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/postgres", p)) {
            String[] queries = {
                "SELECT k, b, i2, i4, i8, f4, f8, n, t, v, u, d, ts, tz, iv, j FROM proto_types WHERE k >= ? ORDER BY k",
                "SELECT count(*), sum(k), min(s), max(g) FROM proto_rows WHERE g = ?",
                "SELECT '{1,2,NULL,-2147483648}'::int4[] AS a4, '{a,\"b c\",NULL,\"\"}'::text[] AS at,"
                    + " '{1,-32768}'::int2[] AS a2, '{9223372036854775807}'::int8[] AS a8, '{26,1009}'::oid[] AS ao,"
                    + " '{}'::int4[] AS empty, NULL::text[] AS none WHERE ? > 0",
                "SELECT i.indkey, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                    + " WHERE i.indrelid = 'tx_p'::regclass AND ? > 0",
                "SELECT count(*) FROM proto_rows WHERE k = ANY(?)",
            };
            for (int q = 0; q < queries.length; q++) {
                try (PreparedStatement st = c.prepareStatement(queries[q])) {
                    for (int exec = 1; exec <= 10; exec++) {
                        if (q == 4) st.setArray(1, c.createArrayOf("int4", new Integer[] {1, 2, 3, 4000, 9999}));
                        else st.setInt(1, q == 0 ? 2 : q == 1 ? 3 : 1);
                        run(st, "q" + q, exec);
                    }
                }
            }
            // A transaction block through pgjdbc: ten prepared INSERTs, ROLLBACK, again, COMMIT.
            c.setAutoCommit(false);
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO tx_p VALUES (?, ?)")) {
                for (int round = 0; round < 2; round++) {
                    for (int k = 0; k < 10; k++) {
                        ins.setInt(1, 5000 + k);
                        ins.setString(2, "jdbc " + k);
                        ins.executeUpdate();
                    }
                    System.out.println("tx|" + round + "|inside " + count(c, "SELECT count(*) FROM tx_p WHERE id >= 5000"));
                    if (round == 0) c.rollback();
                    else c.commit();
                    System.out.println("tx|" + round + "|after " + count(c, "SELECT count(*) FROM tx_p WHERE id >= 5000"));
                }
                try (Statement s = c.createStatement()) {
                    s.executeUpdate("DELETE FROM tx_p WHERE id >= 5000");
                }
                c.commit();
            }
        }
    }
}
